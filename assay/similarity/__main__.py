"""``python -m assay.similarity``: one comparison in a process of its own (the storer's
background runs use it, so that a comparison's cpu never slows the web server's threads).

Reads a JSON object from stdin: ``documents`` (``[{"key", "files": [[name, text], …],
"current"}]``), ``base`` (``[[name, text], …]`` or null) and ``options`` (engine.Options'
fields). Writes JSON lines to stdout: ``{"stage", "done", "total"}`` as it goes (at most every
``PROGRESS_EVERY_S``, and at each stage's start and end), then ``{"report": …}``
(engine.Report). Exit 2 on input it cannot read."""

from __future__ import annotations

import json
import sys
import time

from .engine import Document, Options, compare

PROGRESS_EVERY_S = 0.25


def main() -> int:
    try:
        given = json.load(sys.stdin)
        documents = [
            Document(d["key"], [(n, t) for n, t in d["files"]], bool(d.get("current", True)))
            for d in given["documents"]
        ]
        base = [(n, t) for n, t in given.get("base") or []] or None
        options = Options(**given.get("options", {}))
    except (ValueError, KeyError, TypeError) as e:
        print(
            f"error: the comparison's input is not what assay.similarity reads: {e}",
            file=sys.stderr,
        )
        return 2
    last = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done in (0, total) or now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            print(json.dumps({"stage": stage, "done": done, "total": total}), flush=True)

    report = compare(documents, base, options, progress)
    print(json.dumps({"report": report.as_json()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
