import os
import sys

given = int(open(sys.argv[1]).read())
answer = int(sys.stdin.read())
if answer != 2 * given:
    sys.exit(43)
if given < 8:  # ask again with the answer
    with open(os.path.join(sys.argv[3], "nextpass.in"), "w") as f:
        f.write(f"{answer}\n")
sys.exit(42)
