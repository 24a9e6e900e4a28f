# Expects the answer to be a number and converts it with int(): ValueError on "lower" or
# "higher", in the middle of the game. The program ends first, so this is a run-time error
# even though the validator, reading end of file, then rejects the output.
n, k = map(int, input().split())
lo, hi = 1, n
while True:
    mid = (lo + hi) // 2
    print(mid, flush=True)
    answer = int(input())
    if answer == 0:
        break
    if answer < 0:
        hi = mid - 1
    else:
        lo = mid + 1
