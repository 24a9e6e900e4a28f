// Sort the positions by value once, then walk two pointers inwards for each target:
// usually finds a different pair than the hash map solution, and is just as correct.
#include <algorithm>
#include <iostream>
#include <numeric>
#include <vector>

int main() {
    std::ios::sync_with_stdio(false);
    int n, q;
    std::cin >> n >> q;
    std::vector<long long> a(n);
    for (auto &x : a) std::cin >> x;
    std::vector<int> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int x, int y) { return a[x] < a[y]; });
    while (q--) {
        long long t;
        std::cin >> t;
        int lo = 0, hi = n - 1;
        while (lo < hi) {
            long long s = a[order[lo]] + a[order[hi]];
            if (s == t) break;
            if (s < t) lo++; else hi--;
        }
        std::cout << order[hi] + 1 << ' ' << order[lo] + 1 << '\n';
    }
    return 0;
}
