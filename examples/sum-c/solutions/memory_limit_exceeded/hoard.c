#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    long long a, b;
    if (scanf("%lld %lld", &a, &b) != 2) return 1;
    for (int i = 0; i < 1024; i++) {   /* 1 GiB, 1 MiB at a time, each page touched */
        char *p = malloc(1 << 20);
        if (!p) return 3;
        memset(p, i, 1 << 20);
    }
    printf("%lld\n", a + b);
    return 0;
}
