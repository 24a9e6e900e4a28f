import sys

data = sys.stdin.read().split()
q = int(data[0])
print("\n".join(str(n * (n + 1) // 2) for n in map(int, data[1 : q + 1])))
