// For each target, scan left to right and remember where each value was last seen:
// prints the pair that completes first (j as small as possible).
#include <cstdio>
#include <unordered_map>
#include <vector>

int main() {
    int n, q;
    if (std::scanf("%d %d", &n, &q) != 2) return 1;
    std::vector<long long> a(n);
    for (auto &x : a) std::scanf("%lld", &x);
    while (q--) {
        long long t;
        std::scanf("%lld", &t);
        std::unordered_map<long long, int> seen;
        for (int j = 0; j < n; j++) {
            auto it = seen.find(t - a[j]);
            if (it != seen.end()) {
                std::printf("%d %d\n", it->second + 1, j + 1);
                break;
            }
            seen[a[j]] = j;
        }
    }
    return 0;
}
