"""Course images: the image store, a VM on an image (both backends), runtimes verified inside an
image, a package's ``image:``, and a whole evaluation on an image.

The image (minbase + GNU hello + python3, conftest.py's ``course_image``) is built once and
kept in /var/lib/assay/images; GNU hello is a program the tester host does not have. The hostile
suite (test_hostile.py) runs every attack on it as well."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from assay.lib.archive import zip_directory
from assay.package import PackageError, open_package
from assay.runtimes.verify import verify_runtimes
from assay.sandbox import Host, Limits, SandboxError, Status, images
from assay.tester import worker
from assay.tester.executor import Executor
from assay.tester.spec import make_spec

from .conftest import EXAMPLES


def run(vm, command: list[str], tmp_path: Path, limits: Limits | None = None):
    out, err = tmp_path / "out", tmp_path / "err"
    res = vm.run(command, limits or Limits(cpu_time_s=5, processes=8), stdout=out, stderr=err)
    return res, out.read_text(), err.read_text()


# -- the store (no build: a fake image in a temporary directory) ------------------------------


def fake_image(base: Path, name: str, version: str, *, current: bool = True) -> Path:
    root = base / name / version / "root"
    (root / "usr").mkdir(parents=True)
    manifest = {"name": name, "version": version, "recipe": {"suite": "bookworm"}}
    (root.parent / "manifest.json").write_text(json.dumps(manifest))
    if current:
        link = base / name / "current"
        link.unlink(missing_ok=True)
        link.symlink_to(version)
    return root


def test_the_current_version_of_an_image_is_found_by_name(tmp_path: Path) -> None:
    fake_image(tmp_path, "py-numpy", "aaa", current=False)
    root = fake_image(tmp_path, "py-numpy", "bbb")
    image = images.resolve("py-numpy", tmp_path)
    assert (image.label, image.root) == ("py-numpy@bbb", root)
    assert [(i.version, current) for i, current in images.all_versions(tmp_path)] == [
        ("aaa", False), ("bbb", True),
    ]  # fmt: skip
    assert [i.label for i in images.local_images(tmp_path)] == ["py-numpy@bbb"]


def test_a_missing_image_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(images.ImageError, match="assay image build nothing-here"):
        images.resolve("nothing-here", tmp_path)


@pytest.mark.parametrize("name", ["Numpy", "../etc", "a b", "", "x" * 41, "9lives"])
def test_a_malformed_image_name_is_refused(name: str) -> None:
    with pytest.raises(images.ImageError, match="not an image name"):
        images.check_name(name)


def test_removing_one_version_keeps_the_others(tmp_path: Path) -> None:
    fake_image(tmp_path, "old-gcc", "aaa", current=False)
    fake_image(tmp_path, "old-gcc", "bbb")
    assert images.remove("old-gcc", "bbb", tmp_path) == ["bbb"]
    with pytest.raises(images.ImageError):  # the current one went: nothing is current
        images.resolve("old-gcc", tmp_path)
    assert images.remove("old-gcc", base=tmp_path) == ["aaa"]
    assert not (tmp_path / "old-gcc").exists()


def test_the_version_is_a_hash_of_the_recipe() -> None:
    sources = images.host_sources("bookworm")
    one = images.recipe_version(images.recipe("bookworm", ["bc", "hello"], sources))
    same = images.recipe_version(images.recipe("bookworm", ["hello", "bc", "bc"], sources))
    other = images.recipe_version(images.recipe("bookworm", ["hello"], sources))
    assert one == same != other


def test_the_build_uses_this_hosts_debian_mirrors() -> None:
    lines = images.host_sources("trixie")
    assert lines[0].startswith("deb ") and lines[0].endswith(" trixie main")
    assert any(line.endswith(" trixie-security main") for line in lines)


def test_a_recipe_with_a_malformed_package_is_refused() -> None:
    with pytest.raises(images.ImageError, match="not a Debian package"):
        images.recipe("bookworm", ["hello; rm -rf /"], [])


# -- a VM on the image ----------------------------------------------------------------------


def test_a_program_sees_the_images_system_not_the_hosts(
    any_host: Host, course_image: str, tmp_path: Path
) -> None:
    assert shutil.which("hello") is None, "the host must not have GNU hello for this test"
    image = images.resolve(course_image)
    with any_host.get_vm(image=course_image) as vm:
        assert vm.image == image.label
        res, out, _ = run(vm, ["/bin/sh", "-c", "hello; cat /etc/debian_version"], tmp_path)
    assert res.status is Status.OK, res
    assert out == "Hello, world!\n" + (image.root / "etc/debian_version").read_text()
    with any_host.get_vm() as vm:  # a VM without the image: the host's system
        res, _, err = run(vm, ["/bin/sh", "-c", "hello"], tmp_path)
    assert res.status is Status.RE and res.exit_code == 127, (res, err)


def test_a_vm_on_a_missing_image_is_a_sandbox_error(any_host: Host) -> None:
    with pytest.raises(SandboxError, match="not on this tester"):
        any_host.get_vm(image="no-such-image")


def test_the_image_is_read_only_and_the_box_writable(
    any_host: Host, course_image: str, tmp_path: Path
) -> None:
    with any_host.get_vm(image=course_image) as vm:
        res, out, _ = run(vm, ["/bin/sh", "-c",
                               "touch /usr/x /etc/x 2>/dev/null || echo refused; "
                               "echo hi > /box/f && cat /box/f; id -u"], tmp_path)  # fmt: skip
    assert res.status is Status.OK and out.split() == ["refused", "hi", str(vm.inside_uid)]


def test_limits_and_measurements_hold_on_the_image(
    any_host: Host, course_image: str, tmp_path: Path
) -> None:
    with any_host.get_vm(image=course_image) as vm:
        busy = ["python3", "-c", "while True: pass"]
        res, _, _ = run(vm, busy, tmp_path, Limits(cpu_time_s=0.5, wall_time_s=5))
        assert res.status is Status.TO and 0.5 <= res.cpu_time_s < 1.0, res
        grab = ["python3", "-c", "b = bytearray(200 << 20)"]
        res, _, _ = run(vm, grab, tmp_path, Limits(memory_kib=64 * 1024))
        assert res.status is Status.ML, res
        fill = ["python3", "-c", "b = bytearray(40 << 20); b[::4096] = b'x' * len(b[::4096])"]
        res, _, _ = run(vm, fill, tmp_path, Limits(memory_kib=128 * 1024))
        assert res.status is Status.OK and 40 * 1024 <= res.memory_kib < 128 * 1024, res


# -- runtimes inside an image ---------------------------------------------------------------


def test_runtimes_are_verified_inside_the_image(host: Host, course_image: str) -> None:
    """python3 and bash are in the image; C is on the host (./setup.sh) but not in the image."""
    on_host = {s.name: s for s in verify_runtimes(host, ["c", "python3"])}
    inside = {
        s.name: s for s in verify_runtimes(host, ["c", "python3", "bash"], image=course_image)
    }
    assert on_host["c"].ok and on_host["python3"].ok
    assert inside["python3"].ok and inside["bash"].ok, inside
    assert not inside["c"].ok and "version command failed" in inside["c"].message
    assert inside["python3"].debian.startswith("python3=")  # the image's dpkg, not the host's
    # the image never changes: C's failure in it is remembered, not tried at every tester start
    again = {s.name: s for s in verify_runtimes(host, ["c"], image=course_image)}
    assert not again["c"].ok and again["c"].cached
    assert not verify_runtimes(host, ["c"], image=course_image, use_cache=False)[0].cached


def test_a_tester_offers_each_image_with_the_runtimes_that_work_in_it(course_image: str) -> None:
    offered = worker.offered_images([course_image], ["c", "python3"])
    label = images.resolve(course_image).label
    assert offered == {label: ["python3"]}
    queues = worker.queues_for("default", ["c"], images={course_image: ["python3"]})
    assert queues == ["assay.default.c", f"assay.default.python3.{course_image}",
                      "assay.default.validate", f"assay.default.validate.{course_image}"]  # fmt: skip
    assert worker.offered_images(["no-such-image"], ["bash"]) == {}


# -- a package's image ----------------------------------------------------------------------


def package_with_image(tmp_path: Path, image: object) -> Path:
    package = tmp_path / "package"
    shutil.copytree(EXAMPLES / "hello-bash", package)
    doc = yaml.safe_load((package / "assignment.yaml").read_text())
    doc["image"] = image
    (package / "assignment.yaml").write_text(yaml.safe_dump(doc))
    return package


def test_a_package_names_its_image(tmp_path: Path) -> None:
    with open_package(package_with_image(tmp_path, "py-numpy")) as assignment:
        assert assignment.image == "py-numpy"
        spec = make_spec(assignment, {"words.sh": b"echo hi\n"})
    assert spec.image == "py-numpy" and spec.to_dict()["image"] == "py-numpy"


@pytest.mark.parametrize("image", ["Py Numpy", "../../etc", 3])
def test_a_package_with_a_malformed_image_name_is_refused(tmp_path: Path, image: object) -> None:
    with (
        pytest.raises(PackageError, match="image"),
        open_package(package_with_image(tmp_path, image)),
    ):
        pass


def test_an_evaluation_runs_on_the_image_and_says_so(
    host: Host, course_image: str, tmp_path: Path
) -> None:
    package = package_with_image(tmp_path, course_image)
    solution = sorted((package / "solutions" / "accepted").iterdir())[0]
    files = {solution.name: solution.read_bytes()}
    with open_package(package) as assignment:
        spec = make_spec(assignment, files)
        tests = {t.name: t for t in assignment.tests}
        evaluation = Executor(host, "t1").evaluate(spec, files, tests, tmp_path / "result")
    doc = evaluation.doc
    assert doc["image"] == images.resolve(course_image).label
    assert [t["verdict"] for t in doc["tests"]] == ["AC"] * len(tests), doc


def test_an_evaluation_on_an_image_the_tester_lacks_is_a_sandbox_error(
    host: Host, tmp_path: Path
) -> None:
    with open_package(package_with_image(tmp_path, "no-such-image")) as assignment:
        spec = make_spec(assignment, {"words.sh": b"echo hi\n"})
        evaluation = Executor(host, "t1").evaluate(spec, {"words.sh": b"echo hi\n"},
                                                   {}, tmp_path / "result")  # fmt: skip
    assert evaluation.failed and "not on this tester" in evaluation.doc.get("error", ""), (
        evaluation.doc
    )


def test_an_image_whose_system_leads_to_the_hosts_is_refused(tmp_path: Path) -> None:
    from assay.runtimes import all_runtimes
    from assay.sandbox.bwrap import system_dirs

    root = fake_image(tmp_path, "escape", "aaa")
    assert [inside for _, _, inside in system_dirs(root)][:2] == ["/etc", "/usr"]
    # a copied-in image whose usr is a link to the host's: binding it would show the host's
    shutil.rmtree(root / "usr")
    (root / "usr").symlink_to("/usr")
    with pytest.raises(SandboxError, match="/usr leads out of the image"):
        system_dirs(root)
    # a runtime's system path that leads out of the image is not bound from it
    (root / "usr").unlink()
    (root / "usr").mkdir()
    (root / "var" / "lib").mkdir(parents=True)
    (root / "var" / "lib" / "ghc").symlink_to("/usr/lib")
    assert all_runtimes()["haskell"].readonly_binds_in(root) == {}
    (root / "var" / "lib" / "ghc").unlink()
    (root / "var" / "lib" / "ghc").mkdir()
    assert all_runtimes()["haskell"].readonly_binds_in(root) == {
        "/var/lib/ghc": root / "var" / "lib" / "ghc"
    }


def test_a_checker_runs_on_the_jobs_image(host: Host, course_image: str, tmp_path: Path) -> None:
    # the checker accepts only where GNU hello is: on the image, not on the tester host
    package = package_with_image(tmp_path, course_image)
    doc = yaml.safe_load((package / "assignment.yaml").read_text())
    doc["judge"] = {"type": "checker", "checker": "checker.py"}
    (package / "assignment.yaml").write_text(yaml.safe_dump(doc))
    (package / "checker.py").write_text(
        "import shutil, sys\nsys.exit(42 if shutil.which('hello') else 43)\n"
    )
    solution = sorted((package / "solutions" / "accepted").iterdir())[0]
    files = {solution.name: solution.read_bytes()}
    with open_package(package) as assignment:
        spec = make_spec(assignment, files)
        tests = {t.name: t for t in assignment.tests}
        evaluation = Executor(host, "t1").evaluate(
            spec, files, tests, tmp_path / "result", checker_source=package / "checker.py"
        )
    assert [t["verdict"] for t in evaluation.doc["tests"]] == ["AC"] * len(tests), evaluation.doc


def test_a_validation_runs_on_the_course_image_when_the_package_names_none(
    host: Host, course_image: str, tmp_path: Path
) -> None:
    # a package whose accepted solution needs GNU hello (on the image, not on the host), naming
    # no image: valid on the course's image (the claim's X-Assay-Image), not on the host
    from assay.tester.worker import validate_package

    package = tmp_path / "package"
    shutil.copytree(EXAMPLES / "hello-bash", package)
    for solution in (package / "solutions" / "accepted").iterdir():
        solution.write_text("command -v hello >/dev/null || exit 1\n" + solution.read_text())
    archive = tmp_path / "package.zip"
    zip_directory(package, archive)
    assert validate_package(archive, course_image)["ok"] is True
    assert validate_package(archive)["ok"] is False  # on the host: no hello
