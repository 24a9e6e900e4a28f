"""`assay sandbox [--backend NAME]`: what each backend reports about this machine."""

import yaml
from typer.testing import CliRunner

from assay.cli import app

runner = CliRunner()


def test_the_launcher_backend_reports_its_filter_cgroups_and_network():
    result = runner.invoke(app, ["sandbox", "--backend", "launcher"])
    assert result.exit_code == 0, result.output
    info = yaml.safe_load(result.output)
    assert info["backend"] == "launcher"
    assert info["seccomp"].startswith("on")
    assert info["favordynmods"].startswith(("on", "off ("))  # either way, it says why
    assert "loopback" in info["network"]
    assert info["self_test"].startswith("OK")


def test_the_bwrap_backend_reports_itself():
    result = runner.invoke(app, ["sandbox", "--backend", "bwrap"])
    assert result.exit_code == 0, result.output
    info = yaml.safe_load(result.output)
    assert info["backend"] == "bwrap" and info["self_test"].startswith("OK")


def test_an_unknown_backend_is_named_in_the_error():
    result = runner.invoke(app, ["sandbox", "--backend", "kvm"])
    assert result.exit_code != 0
    assert "kvm" in result.output and "launcher" in result.output
