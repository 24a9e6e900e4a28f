/* Kadane's algorithm in int: right for group 1, but sums of values up to 10^9 overflow, so
   only some tests of group 2 pass. */
#include <stdio.h>

int main(void) {
    int n;
    if (scanf("%d", &n) != 1) return 1;
    int best = 0, here = 0;
    for (int i = 0; i < n; i++) {
        int x;
        if (scanf("%d", &x) != 1) return 1;
        here = (i == 0 || here < 0) ? x : here + x;
        if (i == 0 || here > best) best = here;
    }
    printf("%d\n", best);
    return 0;
}
