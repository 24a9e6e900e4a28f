/* A correct binary search that never flushes its output: the guess waits in the buffer, the
   validator waits for the guess, the program waits for the answer, until the time runs out.
   (Its cpu time stays near zero: the wall-time limit ends it.) */
#include <stdio.h>
#include <string.h>

int main(void) {
    long long n, k, lo = 1, hi;
    char answer[16];
    if (scanf("%lld %lld", &n, &k) != 2) return 1;
    hi = n;
    for (;;) {
        long long mid = lo + (hi - lo) / 2;
        printf("%lld\n", mid);  /* missing: fflush(stdout); */
        if (scanf("%15s", answer) != 1) return 1;
        if (strcmp(answer, "correct") == 0) break;
        if (strcmp(answer, "lower") == 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return 0;
}
