n = int(input())
print(sum(2 for _ in range(200 * n)) // 200)  # never wrong, too slow on big inputs
