import time

time.sleep(0.5)
print(input())
