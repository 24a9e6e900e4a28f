"""What an assignment tells a student before they submit (issue 11, part 6): the language(s) it
takes with their compiler and build command, the files it expects, and the limits of each test
run and of an upload. The assignment page and the API's assignment document show the same.

A runtime is described by its definition — its title names the compiler and the standard
(``C (gcc, C17)``), its build command, and the Debian packages it comes from — and by the
versions the testers found: each tester runs the runtime's version command in its sandbox when it
starts (``assay runtimes``) and reports the first line with its first heartbeat
(``Tester.runtime_versions``); testers with different toolchains show as several versions."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from assay.runtimes import Runtime, all_runtimes, get_runtime
from assay.storer.request_cache import remember


def runtime_doc(r: Runtime) -> dict[str, Any]:
    return {
        "versions": reported_versions().get(r.name, []),
        "name": r.name,
        "title": r.title,
        "extensions": list(r.extensions),
        "companions": list(r.companions),
        "build": r.build,  # None: interpreted, nothing is built
        "run": r.run,
        "debian": list(r.debian),
        "version_command": r.version,
    }


def reported_versions() -> dict[str, list[str]]:
    """runtime -> the versions the testers (not revoked) reported for it; once per request."""
    return remember(("runtime_versions",), _reported)


def _reported() -> dict[str, list[str]]:
    from assay.storer.evaluation.models import Tester

    found: dict[str, set[str]] = {}
    for versions in Tester.objects.filter(revoked=False).values_list("runtime_versions", flat=True):
        for name, version in (versions or {}).items():
            found.setdefault(name, set()).add(str(version))
    return {name: sorted(v) for name, v in found.items()}


def offered_runtimes() -> list[Runtime]:
    """The runtimes a submission may be in when the package leaves it open: those some tester
    offers (a tester that names none offers every one), all of them while no tester is
    registered. One query per request."""
    return remember(("offered_runtimes",), _offered)


def _offered() -> list[Runtime]:
    from assay.storer.evaluation.models import Tester

    known = all_runtimes()
    offered: set[str] = set()
    testers = list(Tester.objects.filter(revoked=False).values_list("runtimes", flat=True))
    if not testers or any(not names for names in testers):
        return sorted(known.values(), key=lambda r: r.title.lower())
    for names in testers:
        offered.update(names)
    return sorted((r for n, r in known.items() if n in offered), key=lambda r: r.title.lower())


def languages(meta: dict[str, Any]) -> list[Runtime]:
    """The runtimes a version's package allows: the one it names, else every offered one."""
    name = meta.get("runtime")
    if name:
        try:
            return [get_runtime(name)]
        except KeyError:  # a runtime definition removed since the package was published
            return []
    return offered_runtimes()


def guesses(runtimes: list[Runtime]) -> dict[str, str]:
    """File extension -> the runtime it tells among these, as the server would choose it
    (``detect_runtime``: an extension two runtimes share goes to the core one, python3 over
    pypy3); for the submit form's script."""
    out: dict[str, str] = {}
    for ext in sorted({e for r in runtimes for e in r.extensions}):
        found = [r for r in runtimes if r.is_detected_by("x" + ext)]
        if len(found) > 1:
            found = [r for r in found if r.core]
        if len(found) == 1:
            out[ext] = found[0].name
    return out


def upload_limits() -> dict[str, int]:
    return {
        "files": settings.MAX_UPLOAD_FILES,
        "file_kib": settings.MAX_UPLOAD_FILE_BYTES // 1024,
        "total_kib": settings.MAX_UPLOAD_TOTAL_BYTES // 1024,
    }


def submission_rules(meta: dict[str, Any] | None) -> dict[str, Any]:
    """The part of the assignment document that says what to submit: ``languages`` (several:
    the student chooses, or the extensions tell), ``choose_language``, ``required_files``,
    ``extensions`` (the source files the languages take), ``limits`` (per test run: cpu and
    wall time, memory, output, processes) and ``upload`` (files, size per file and in all)."""
    if meta is None:
        return {
            "languages": [],
            "choose_language": False,
            "extensions": [],
            "upload": upload_limits(),
        }
    runtimes = languages(meta)
    return {
        "languages": [runtime_doc(r) for r in runtimes],
        "choose_language": not meta.get("runtime") and len(runtimes) > 1,
        "extensions": sorted({e for r in runtimes for e in r.extensions}),
        "upload": upload_limits(),
    }
