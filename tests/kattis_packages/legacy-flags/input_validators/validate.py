import sys

limit = 100
for arg in sys.argv[1:]:
    if arg.startswith("max="):
        limit = int(arg[4:])
lines = sys.stdin.read().split("\n")
sys.exit(42 if len(lines) == 2 and 0 < len(lines[0]) <= limit and lines[1] == "" else 43)
