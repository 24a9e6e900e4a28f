// Assigns a vector to an int: does not compile.
#include <cstdio>
#include <vector>

int main() {
    int n, q;
    std::scanf("%d %d", &n, &q);
    int a = std::vector<long long>(n);
    std::printf("%d\n", a);
    return 0;
}
