# Adds 1 + 2 + ... + n one term at a time: fine for the easy group, far too slow for n = 10**18.
import sys

data = sys.stdin.read().split()
q = int(data[0])
for n in map(int, data[1 : q + 1]):
    total = 0
    for i in range(1, n + 1):
        total += i
    print(total)
