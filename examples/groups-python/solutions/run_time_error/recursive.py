# Recursion one level per unit of n: a RecursionError (an uncaught exception) once n
# passes Python's default recursion limit of 1000.
import sys


def triangular(n):
    return 0 if n == 0 else n + triangular(n - 1)


data = sys.stdin.read().split()
q = int(data[0])
for n in map(int, data[1 : q + 1]):
    print(triangular(n))
