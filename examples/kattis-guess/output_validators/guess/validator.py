"""Interactive output validator for "Guess the number" (Kattis interface).

    validator.py INPUT ANSWER FEEDBACK_DIR  (stdin: the submission's output, stdout: its input)

INPUT holds "n x": the range and the secret number; ANSWER holds x again. Exits 42 as soon as
the submission finds x within k = n.bit_length() guesses, 43 otherwise.

It does not wait for the submission to end its output after "correct": in the sandbox the
submission only reads end of file once the validator has exited (closing stdout is not
enough), so a validator that waits would deadlock with a submission that reads on.
"""

import os
import sys

ACCEPT, REJECT = 42, 43


def main() -> int:
    input_path, answer_path, feedback_dir = sys.argv[1:4]
    n, secret = map(int, open(input_path).read().split())
    assert int(open(answer_path).read().split()[0]) == secret, "the answer file disagrees"
    limit = n.bit_length()

    def judge(code: int, message: str) -> int:
        with open(os.path.join(feedback_dir, "judgemessage.txt"), "w") as f:
            f.write(message + "\n")
        return code

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    try:
        say(f"{n} {limit}")
        guesses = 0
        while True:
            line = sys.stdin.readline()
            if not line:
                return judge(REJECT, f"the output ended after {guesses} guesses without finding {secret}")
            try:
                guess = int(line)
            except ValueError:
                return judge(REJECT, f"guess {guesses + 1}: {line.strip()[:40]!r} is not a number")
            guesses += 1
            if guesses > limit:
                return judge(REJECT, f"more than {limit} guesses")
            if not 1 <= guess <= n:
                return judge(REJECT, f"guess {guesses}: {guess} is outside 1..{n}")
            if guess == secret:
                say("correct")
                break
            say("lower" if secret < guess else "higher")
    except BrokenPipeError:
        return judge(REJECT, "the submission stopped reading")
    return judge(ACCEPT, f"found {secret} in {guesses} of {limit} guesses")


if __name__ == "__main__":
    sys.exit(main())
