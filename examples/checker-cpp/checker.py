"""Output validator for "Pair sums" (Kattis interface).

    checker.py INPUT ANSWER FEEDBACK_DIR < team_output

Exit 42 when every target is answered with a valid pair, 43 otherwise. The fraction of
targets answered correctly goes to FEEDBACK_DIR/score.txt, so a partly correct output earns
part of the test's points. The answer file holds one valid pair per target; it is only used
to check the test data itself.
"""

import os
import sys

ACCEPT, REJECT = 42, 43


def main() -> int:
    input_path, answer_path, feedback_dir = sys.argv[1:4]
    tokens = open(input_path).read().split()
    n, q = int(tokens[0]), int(tokens[1])
    a = [int(x) for x in tokens[2 : 2 + n]]
    targets = [int(x) for x in tokens[2 + n : 2 + n + q]]

    def valid(i: int, j: int, t: int) -> bool:
        return 1 <= i <= n and 1 <= j <= n and i != j and a[i - 1] + a[j - 1] == t

    reference = [int(x) for x in open(answer_path).read().split()]
    for k, t in enumerate(targets):
        if not valid(reference[2 * k], reference[2 * k + 1], t):
            print(f"the answer file's pair for target {k + 1} is not valid", file=sys.stderr)
            return 1  # a broken test: neither 42 nor 43, so assay reports an internal error

    output = sys.stdin.read(1 << 20).split()
    messages = []
    correct = 0
    for k, t in enumerate(targets):
        pair = output[2 * k : 2 * k + 2]
        if len(pair) < 2:
            messages.append(f"target {k + 1}: no answer (the output ends early)")
            continue
        try:
            i, j = int(pair[0]), int(pair[1])
        except ValueError:
            messages.append(f"target {k + 1}: {' '.join(pair)!r} is not two integers")
            continue
        if valid(i, j, t):
            correct += 1
        elif i == j:
            messages.append(f"target {k + 1}: positions {i} and {j} are the same")
        elif not (1 <= i <= n and 1 <= j <= n):
            messages.append(f"target {k + 1}: a position outside 1..{n}")
        else:
            messages.append(f"target {k + 1}: a[{i}] + a[{j}] = {a[i - 1] + a[j - 1]}, not {t}")
    if len(output) > 2 * q:
        messages.append("unexpected output after the last answer")
        correct = 0

    def write(name: str, text: str) -> None:
        with open(os.path.join(feedback_dir, name), "w") as f:
            f.write(text + "\n")

    write("score.txt", f"{correct / q:.6f}")
    if messages:
        write("judgemessage.txt", "; ".join(messages[:5]) + (" …" if len(messages) > 5 else ""))
        write("teammessage.txt", f"{correct} of {q} targets answered correctly")
        return REJECT
    return ACCEPT


if __name__ == "__main__":
    sys.exit(main())
