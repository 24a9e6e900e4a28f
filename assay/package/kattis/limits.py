"""problem.yaml's ``limits``: time (``.timelimit``, the time limit and resolution, the time
multipliers of either format version), memory and output for submissions, compilation limits,
the output validator's limits and the number of passes of a multi-pass problem, as
:class:`KattisLimits`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assay.sandbox import Limits

from ..model import PackageError
from ..native import DEFAULT_BUILD_LIMITS, DEFAULT_RUN_LIMITS
from .common import FILE, LEGACY, V2023, V2025, Loader, ProblemType, _mapping, _number

LIMIT_KEYS = {"memory", "output", "code", "compilation_time", "compilation_memory"}
LIMIT_KEYS |= {"validation_time", "validation_memory", "validation_output"}
LIMIT_KEYS_BY_VERSION = {
    LEGACY: LIMIT_KEYS | {"time_multiplier", "time_safety_margin"},
    V2023: LIMIT_KEYS | {"time_multipliers", "time_limit", "time_resolution", "validation_passes"},
}
LIMIT_KEYS_BY_VERSION[V2025] = LIMIT_KEYS_BY_VERSION[V2023]


@dataclass
class KattisLimits:
    run: Limits
    build: Limits
    checker: Limits
    time_limit: float | None
    ac_to_time_limit: float
    time_limit_to_tle: float
    time_resolution: float
    validation_passes: int


def read_limits(ld: Loader, doc: dict[str, Any], pt: ProblemType) -> KattisLimits:
    lim = _mapping(doc.get("limits"), FILE, "limits")
    known = LIMIT_KEYS_BY_VERSION[ld.version]
    other = LIMIT_KEYS_BY_VERSION[V2025 if ld.version == LEGACY else LEGACY]
    for key in lim:
        if key in known:
            continue
        if key in other:
            ld.warn(
                f"{FILE}: limits.{key} belongs to another version of the format "
                f"(this package is {ld.version}); assay uses it"
            )
        else:
            ld.warn(f"{FILE}: unknown key 'limits.{key}' ignored")

    def get(key: str, default: float, *, minimum: float = 0.0, inclusive: bool = False) -> float:
        if key not in lim:
            return default
        return _number(lim[key], FILE, f"limits.{key}", minimum=minimum, inclusive=inclusive)

    def whole(key: str, default: int) -> int:
        value = get(key, default)
        if value != int(value):
            raise PackageError(FILE, f"must be a whole number (got {lim[key]!r})", f"limits.{key}")
        return int(value)

    # time: the version's own keys win over the other version's
    mult = _mapping(lim.get("time_multipliers"), FILE, "limits.time_multipliers")
    for key in mult:
        if key not in ("ac_to_time_limit", "time_limit_to_tle"):
            ld.warn(f"{FILE}: unknown key 'limits.time_multipliers.{key}' ignored")
    multipliers = {}
    for old_key, new_key, legacy_default, default in (
        ("time_multiplier", "ac_to_time_limit", 5.0, 2.0),
        ("time_safety_margin", "time_limit_to_tle", 2.0, 1.5),
    ):
        old = get(old_key, legacy_default) if old_key in lim else None
        new = None
        if new_key in mult:
            where = f"limits.time_multipliers.{new_key}"
            new = _number(mult[new_key], FILE, where, minimum=1.0, inclusive=True)
        own, foreign = (old, new) if ld.version == LEGACY else (new, old)
        fallback = legacy_default if ld.version == LEGACY else default
        multipliers[new_key] = (
            own if own is not None else foreign if foreign is not None else fallback
        )
    ac, tle = multipliers["ac_to_time_limit"], multipliers["time_limit_to_tle"]
    time_limit = None
    if (ld.root / ".timelimit").is_file():  # DOMjudge's and old Kattis' file wins
        try:
            time_limit = float((ld.root / ".timelimit").read_text().split()[0])
        except (ValueError, IndexError) as e:
            raise PackageError(".timelimit", "must hold a number of seconds") from e
        if not time_limit > 0:
            raise PackageError(".timelimit", f"must be positive (got {time_limit:g})")
    elif "time_limit" in lim:
        time_limit = get("time_limit", 1.0)
    resolution = get("time_resolution", 1.0)
    passes = 1
    if "validation_passes" in lim and not pt.multi_pass:
        ld.warn(f"{FILE}: limits.validation_passes is only for multi-pass problems; ignored")
    elif pt.multi_pass:
        passes = whole("validation_passes", 2)
        if passes < 2:
            raise PackageError(
                FILE, f"must be at least 2 (got {passes})", "limits.validation_passes"
            )
    if "code" in lim:
        ld.warn(f"{FILE}: limits.code ({get('code', 0):g} KiB of source) is not enforced by assay")

    run = DEFAULT_RUN_LIMITS.replace(
        cpu_time_s=time_limit or 1.0,
        memory_kib=int(get("memory", 2048) * 1024),
        output_kib=int(get("output", 8) * 1024),
    )
    build = DEFAULT_BUILD_LIMITS
    if "compilation_time" in lim:
        seconds = get("compilation_time", 60)
        build = build.replace(cpu_time_s=seconds, wall_time_s=2 * seconds)
    if "compilation_memory" in lim:
        build = build.replace(memory_kib=int(get("compilation_memory", 2048) * 1024))
    checker = Limits(
        cpu_time_s=get("validation_time", 60),
        memory_kib=int(get("validation_memory", 2048) * 1024),
        processes=16,
        file_size_kib=int(get("validation_output", 8) * 1024),
    )
    return KattisLimits(run, build, checker, time_limit, ac, tle, resolution, passes)
