n = int(input())
print(n * 1.5 if n < 3 else 0)  # the first group and half the second
