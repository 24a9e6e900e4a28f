#include <stdio.h>

int main(void) {
    int n;
    if (scanf("%d", &n) != 1) return 1;
    long long best = 0, here = 0;
    for (int i = 0; i < n; i++) {
        long long x;
        if (scanf("%lld", &x) != 1) return 1;
        here = (i == 0 || here < 0) ? x : here + x;
        if (i == 0 || here > best) best = here;
    }
    printf("%lld\n", best);
    return 0;
}
