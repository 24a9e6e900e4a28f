import math
import sys

data = sys.stdin.read().split()
n = int(data[0])
out = []
for k in range(n):
    x1, y1, x2, y2 = map(int, data[1 + 4 * k : 5 + 4 * k])
    out.append(repr(math.dist((x1, y1), (x2, y2))))
print("\n".join(out))
