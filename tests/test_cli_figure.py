"""The ``latticedns figure`` command: files written, bad input refused with exit code 2."""

import os

import pytest

from latticedns.cli import main


def test_fig3_figures_are_written(tmp_path):
    for name in ("fig3a", "fig3b"):
        out = tmp_path / f"{name}.png"
        assert main(["figure", name, "-o", str(out), "--dpi", "50"]) == 0
        assert out.stat().st_size > 5000
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_existing_output_needs_force(tmp_path, capsys):
    out = tmp_path / "f.png"
    out.write_bytes(b"keep me")
    assert main(["figure", "fig3b", "-o", str(out)]) == 2
    assert out.read_bytes() == b"keep me"
    assert "--force" in capsys.readouterr().err
    assert main(["figure", "fig3b", "-o", str(out), "--force", "--dpi", "40"]) == 0
    assert out.read_bytes() != b"keep me"


@pytest.mark.parametrize("setting, key", [("tau_c=1", "tau_c"), ("tau_c_us=-1", "tau_c_us"),
                                          ("averaging=cubic", "averaging"), ("a_nm=abc", "a_nm")])
def test_bad_settings_exit_2_and_write_nothing(tmp_path, capsys, setting, key):
    out = tmp_path / "f.png"
    assert main(["figure", "fig3a", "-o", str(out), "--set", setting]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert key in err and err.count("\n") == 1


def test_console_script_entry_point():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "latticedns.cli", "--version"],
                          capture_output=True, text=True, env={**os.environ})
    assert proc.returncode == 0 and proc.stdout.strip()
