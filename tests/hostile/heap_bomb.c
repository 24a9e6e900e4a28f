/* Memory bomb on the heap: allocate and touch 1 MiB after 1 MiB, forever. */
#include <stdlib.h>
#include <string.h>

int main(void) {
    for (;;) {
        char *p = malloc(1 << 20);
        if (p) memset(p, 0x5a, 1 << 20);
    }
}
