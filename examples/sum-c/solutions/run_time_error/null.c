#include <stdio.h>
int main(void) {
    long long a, b;
    if (scanf("%lld %lld", &a, &b) != 2) return 1;
    volatile long long *p = 0;
    *p = a + b;  /* segmentation fault */
    printf("%lld\n", a + b);
    return 0;
}
