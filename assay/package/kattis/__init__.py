"""Load a Kattis / ICPC problem package into assay's model.

Three versions of the format are read, as ``problem_format_version`` says: ``legacy`` (the
default; also ``legacy-icpc``), ``2023-07-draft`` (also ``2023-07``; what problemtools reads) and
``2025-09``. docs/package-format.md has the table of what maps where and where the
specification and problemtools differ; in short:

* ``problem.yaml``: the type (pass-fail, scoring, interactive, multi-pass), the limits (time,
  memory, output, compilation, validation) and the time multipliers; unknown keys are warnings.
* ``data/``: ``sample`` (visible, 0 points) and ``secret``, with ``testdata.yaml`` (legacy,
  2023-07) or ``test_group.yaml`` (2023-07, 2025-09) inherited down the tree: validator
  arguments per test, groups and their points.
* ``output_validators/`` (legacy) or ``output_validator/`` (2023-07 and later): the custom
  validator (a checker, or interactive); otherwise the default validator with its flags.
* ``submissions/<folder>/`` (and ``submissions.yaml``): reference solutions with the verdicts
  each test may get (``permitted``) and must get at least once (``required``).
* ``input_validators/``, ``include/<language>/``: handed to ``assay check`` and the runtimes.

Symbolic links that stay inside the package are followed (the format reuses tests that way);
links that leave it, dangle or loop are refused. Programs and files that contain links are
copied, with the links resolved, into the loader's work directory.

:func:`load_kattis` runs the steps in order; each lives in the module of its concern: ``common``
(the loader, versions, value checks), ``files``, ``problem``, ``limits``, ``validators``,
``group_settings``, ``testdata``, ``groups`` and ``submissions``.
"""

from __future__ import annotations

from pathlib import Path

from ..model import Assignment
from ..native import read_yaml
from .common import FILE, Loader
from .files import check_symlinks
from .groups import check_graders, make_groups
from .limits import read_limits
from .problem import (
    check_problem_keys,
    check_root,
    custom_validation,
    format_version,
    problem_type,
    read_include,
    read_statement,
    title,
    unsupported_problem_keys,
)
from .submissions import glob_matches, read_submissions
from .testdata import read_test_data
from .validators import (
    assign_judge_args,
    make_judge,
    output_validator,
    parse_validator_flags,
    read_input_validators,
    validator_flags,
)

__all__ = ["glob_matches", "load_kattis", "parse_validator_flags"]


def load_kattis(root: Path, work: Path) -> Assignment:
    ld = Loader(root, work)
    check_symlinks(ld)
    doc = read_yaml(root / FILE, FILE)
    ld.version = format_version(doc)
    check_problem_keys(ld, doc)
    check_root(ld)
    pt = problem_type(ld, doc)
    limits = read_limits(ld, doc, pt)
    custom = custom_validation(ld, doc, pt)
    unsupported_problem_keys(ld, doc, pt, custom)
    validator = output_validator(ld, custom, pt)

    data = read_test_data(ld, pt)
    check_graders(ld, data)
    groups = make_groups(ld, data, pt)
    problem_flags, package_flags, origin = validator_flags(doc, data)
    judge = make_judge(validator, pt, package_flags, origin, limits)
    assign_judge_args(ld, data, problem_flags, package_flags, default=validator is None)
    tests = [t for d in data.children for t in d.all_tests()]
    points = sum(g.points for g in groups)

    statement_dir, description = read_statement(ld)
    assignment = Assignment(
        root=root,
        title=title(ld, doc, statement_dir),
        runtime=None,
        limits=limits.run,
        build_limits=limits.build,
        judge=judge,
        tests=tests,
        groups=groups,
        points=points,
        description=description,
        solutions=read_submissions(ld, pt, points),
        format="kattis",
    )
    assignment.time_limit_known = limits.time_limit is not None
    assignment.time_multiplier = limits.ac_to_time_limit
    assignment.time_limit_to_tle = limits.time_limit_to_tle
    assignment.time_resolution_s = limits.time_resolution
    assignment.validation_passes = limits.validation_passes
    assignment.input_validators = read_input_validators(ld)
    assignment.include = read_include(ld)
    assignment.warnings = ld.warnings
    return assignment
