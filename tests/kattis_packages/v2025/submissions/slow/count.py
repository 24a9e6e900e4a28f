n = int(input())
k = 0
for _ in range(2 * n * 1000):
    k += 1
print(k // 1000)
