# Wins the game, then expects another round: reading "n k" again at the end of the input
# raises EOFError, an uncaught exception.
while True:
    n, k = map(int, input().split())
    lo, hi = 1, n
    while True:
        mid = (lo + hi) // 2
        print(mid, flush=True)
        answer = input()
        if answer == "correct":
            break
        if answer == "lower":
            hi = mid - 1
        else:
            lo = mid + 1
