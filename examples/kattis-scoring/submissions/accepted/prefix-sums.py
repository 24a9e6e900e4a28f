# The best sum ending at j is prefix[j] minus the smallest prefix before it.
import sys

data = sys.stdin.read().split()
n = int(data[0])
prefix = lowest = 0
best = None
for x in map(int, data[1 : n + 1]):
    prefix += x
    if best is None or prefix - lowest > best:
        best = prefix - lowest
    lowest = min(lowest, prefix)
print(best)
