from helper import factor

print(int(input()) * factor())
