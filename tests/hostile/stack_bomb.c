/* Memory bomb on the stack: unbounded recursion, 16 KiB of touched stack per call. */
#include <string.h>

static unsigned long deeper(unsigned long depth) {
    volatile char frame[16 * 1024];
    memset((char *)frame, (int)depth, sizeof frame);
    return deeper(depth + 1) + frame[depth % sizeof frame];
}

int main(void) { return (int)deeper(0); }
