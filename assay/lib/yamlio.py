"""YAML through libyaml where PyYAML has it: the pure-Python dumper takes ~50 ms for one
evaluation's result.yaml, libyaml a few. Same safe subset (no Python objects) either way."""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SafeDumper: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def safe_load(text: str | bytes) -> Any:
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a safe loader


def safe_dump(data: Any, **options: Any) -> str:
    return yaml.dump(data, Dumper=SafeDumper, **options)
