#include <stdio.h>
int main(void) {
    long long a, b;
    if (scanf("%lld %lld", &a, &b) != 2) return 1;
    volatile long long s = a;
    for (long long i = 0; i < 100000000000LL; i++) s += 1; /* count up, one by one */
    printf("%lld\n", a + b);
    return 0;
}
