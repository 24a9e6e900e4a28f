// Remembers a[j] before looking for t - a[j], so when t = 2 * a[j] it may "pair" position j
// with itself. Right for most targets, wrong for some: a partial score.
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
            seen[a[j]] = j;
            auto it = seen.find(t - a[j]);
            if (it != seen.end()) {
                std::printf("%d %d\n", it->second + 1, j + 1);
                break;
            }
        }
    }
    return 0;
}
