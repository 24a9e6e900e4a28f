"""The ``data/`` tree: ``sample`` and ``secret`` and their subdirectories read into
:class:`DataDir` nodes, each with its inherited group settings and its test cases (input,
answer, per-test settings, test files and interactions); what is not test data is warned about."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..model import PackageError, TestCase
from ..native import check_test_name, read_yaml
from .common import FILE, LEGACY, V2023, V2025, Loader, ProblemType, _words
from .files import _entries, _materialize, _real, _walk_files
from .group_settings import GROUP_FILES, GroupConfig, _group_file, _input_args, read_group_settings

DATA_ENTRIES = {
    LEGACY: {"sample", "secret"},
    V2023: {"sample", "secret", "invalid_input", "invalid_output", "valid_output"},
}
DATA_ENTRIES[V2025] = DATA_ENTRIES[V2023]


TEST_KEYS = {
    V2023: {"args", "output_validator_args", "input_validator_args", "full_feedback", "hint"}
    | {"description"},
}
TEST_KEYS[V2025] = TEST_KEYS[V2023] | {"input_visualizer_args", "output_visualizer_args"}


# files beside a test that the format defines and assay does not use (X.in is the test)
TEST_SIDE_FILES: tuple[str, ...] = (
    ".out",
    ".in.statement",
    ".ans.statement",
    ".in.download",
    ".ans.download",
)
TEST_SIDE_FILES += (".desc", ".hint", ".png", ".jpg", ".jpeg", ".svg")


@dataclass
class DataDir:
    rel: str  # the path below data/: "secret/group1"
    path: Path
    config: GroupConfig
    items: list[TestCase | DataDir] = field(default_factory=list)

    @property
    def tests(self) -> list[TestCase]:
        return [t for t in self.items if isinstance(t, TestCase)]

    @property
    def children(self) -> list[DataDir]:
        return [d for d in self.items if isinstance(d, DataDir)]

    def all_tests(self) -> list[TestCase]:
        out: list[TestCase] = []
        for item in self.items:
            out += [item] if isinstance(item, TestCase) else item.all_tests()
        return out


def read_data_dir(
    ld: Loader, path: Path, rel: str, parent: GroupConfig, pt: ProblemType, seen: tuple = ()
) -> DataDir:
    """One directory of the test data tree: its settings, its tests and its subdirectories."""
    real = path.resolve()
    if real in seen:
        raise PackageError(ld.rel(path), "symbolic link loop (a directory links to its parent)")
    config = parent.child()
    settings_file = _group_file(ld, path, rel.count("/") + 1)
    if settings_file is not None:
        cfg_path, cfg_file = settings_file
        doc = read_yaml(cfg_path, cfg_file)
        config.values.update(read_group_settings(ld, doc, cfg_file, pt.scoring))
        config.file = cfg_file
    config.values.update(ld.grading_overrides)
    node = DataDir(rel, path, config)
    entries = _entries(path)
    names = {p.name for p in entries}
    bases = {p.name[:-3] for p in entries if p.name.endswith(".in") and p.is_file()}
    unknown: list[str] = []
    for p in entries:
        name = p.name
        if p.is_dir():
            if name.endswith(".files") and name[:-6] in bases:
                continue  # the test's files, read with the test
            node.items.append(read_data_dir(ld, p, f"{rel}/{name}", config, pt, (*seen, real)))
        elif name in GROUP_FILES[ld.version] or (ld.version == V2025 and name == "testdata.yaml"):
            continue  # the group's settings (or, 2025-09, a file warned about)
        elif name.endswith(".in"):
            node.items.append(make_test(ld, p, rel, config, pt, names))
        elif name.endswith(".ans"):
            if name[:-4] not in bases:
                raise PackageError(f"data/{rel}/{name}", f"no input {name[:-4]}.in beside it")
        elif name.endswith(".interaction"):
            if name[:-12] not in bases:
                ld.warn(
                    f"data/{rel}/{name}: an interaction without a test case ({name[:-12]}.in) "
                    "is only shown in the statement; assay does not show it"
                )
        elif name.endswith(".yaml") and name[:-5] in bases and ld.version != LEGACY:
            continue  # the test's settings, read with the test
        elif name.endswith(".download") or any(
            name.endswith(s) and name[: -len(s)] in bases for s in TEST_SIDE_FILES
        ):
            continue  # shown or offered to people; not used in judging
        else:
            unknown.append(name)
    if unknown:
        ld.warn(f"data/{rel}/: files that are not test data ignored: {', '.join(unknown)}")
    return node


def make_test(
    ld: Loader, path: Path, rel: str, config: GroupConfig, pt: ProblemType, names: set[str]
) -> TestCase:
    base = path.name[:-3]
    where = f"data/{rel}/{path.name}"
    name = check_test_name(f"{rel}/{base}", where)
    ans = path.with_name(base + ".ans")
    if not ans.is_file():
        raise PackageError(where, f"no answer file {base}.ans beside it")
    if path.is_symlink() and not ans.is_symlink():
        ld.warn(f"{where} is a symbolic link but {base}.ans is not (problemtools requires both)")
    settings = dict(config.values)
    if f"{base}.yaml" in names and ld.version != LEGACY:
        yfile = f"data/{rel}/{base}.yaml"
        doc = read_yaml(path.with_name(base + ".yaml"), yfile)
        for key, value in doc.items():
            if key not in TEST_KEYS[ld.version]:
                ld.warn(f"{yfile}: unknown key {key!r} ignored")
            elif key == "output_validator_args":
                settings["out_args"] = _words(value, yfile, key)
                settings["out_args_from"] = (yfile, key)
            elif key == "input_validator_args":
                settings["in_args"] = _input_args(ld, value, yfile, key)
            elif key == "args":
                settings["args"] = _words(value, yfile, key)
            elif key == "full_feedback":
                if not isinstance(value, bool):
                    raise PackageError(yfile, f"must be true or false (got {value!r})", key)
                settings["full_feedback"] = value
    test = TestCase(name=name, input=_real(path), answer=_real(ans))
    test.args = list(settings.get("args") or [])
    test.input_validator_args = list(settings.get("in_args") or [])
    test.judge_args = list(settings.get("out_args") or [])  # made relative later
    ld.args_origin[name] = settings.get("out_args_from", (FILE, "validator_flags"))
    sample = rel == "sample" or rel.startswith("sample/")
    test.visible = bool(settings.get("full_feedback", sample)) if ld.version != LEGACY else sample
    files_dir = path.with_name(base + ".files")
    if files_dir.is_dir() and ld.version == LEGACY:
        ld.warn(f"data/{rel}/{base}.files/: test files are not part of the legacy format; ignored")
    elif files_dir.is_dir():  # copied into the submission's working directory
        test.files_base = _materialize(ld, files_dir, f"files/{rel}")
        test.files = list(_walk_files(ld, test.files_base))
    interaction = path.with_name(base + ".interaction")
    if interaction.is_file():
        if pt.custom_validator:
            test.interaction = _real(interaction)
        else:
            ld.warn(
                f"data/{rel}/{base}.interaction: only interactive and multi-pass problems "
                "show interactions; ignored"
            )
    if pt.interactive and test.visible and test.interaction is None:
        test.visible = False
        if sample:
            ld.warn(
                f"{where}: an interactive sample without {base}.interaction: its input and answer "
                "are the validator's, so it is not shown to students"
            )
    return test


def read_test_data(ld: Loader, pt: ProblemType) -> DataDir:
    data = ld.root / "data"
    if not data.is_dir():
        raise PackageError(
            "data/", "missing: a Kattis package keeps its tests in data/sample and data/secret"
        )
    root_config = GroupConfig()
    settings_file = _group_file(ld, data, 0)
    if settings_file is not None:
        cfg_path, cfg_file = settings_file
        doc = read_yaml(cfg_path, cfg_file)
        root_config.values.update(read_group_settings(ld, doc, cfg_file, pt.scoring))
        root_config.file = cfg_file
    root = DataDir("", data, root_config)
    for p in _entries(data):
        if p.is_file():
            if p.name not in GROUP_FILES[ld.version] + ("testdata.yaml",):
                ld.warn(f"data/{p.name}: not test data (tests are in data/sample and data/secret)")
            continue
        if p.name not in ("sample", "secret"):
            if p.name not in DATA_ENTRIES[ld.version]:
                ld.warn(f"data/{p.name}/: unknown folder ignored (data has sample and secret)")
            continue  # invalid_input, invalid_output, valid_output: for validator checks
        parent = root_config.child()
        parent.values.setdefault("full_feedback", p.name == "sample")
        root.items.append(read_data_dir(ld, p, p.name, parent, pt))
    return root


def _subdir(root: DataDir, name: str) -> DataDir | None:
    return next((d for d in root.children if d.rel == name), None)
