"""The command line as documentation: help texts, the ``figure --set`` keys, the run summary's
numbers and the progress lines on stderr."""

import argparse
import dataclasses
import io
import os
import re
import time

import pytest

import latticedns.cli as cli
from latticedns.cli import COMMANDS, build_parser, main
from latticedns.diffusion import DiffusionConditions
from runtexts import SHORT_CONTINUUM_RUN

DOCS = os.path.join(os.path.dirname(__file__), "..", "docs", "usage.md")
GEOM = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "geometries",
                                    "dnp-juice-50mM.toml"))
#: Arguments registered by modules other than cli.py that still lack a help text.
HELP_MISSING_ELSEWHERE = set()


def _subparsers(parser, path=()):
    """(command path, parser) of every (sub)command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield path + (name,), sub
                yield from _subparsers(sub, path + (name,))


def test_top_level_help_lists_every_command_in_plain_words(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    names = [name for name, _ in COMMANDS]
    assert names == ["run", "plot", "figure", "bench", "campaign", "fit", "export", "examples"]
    for name, what in COMMANDS:
        line = re.search(rf"^  {name} +(.+)$", out, re.M)
        assert line and what.startswith(line.group(1).strip()), name
    assert "latticedns COMMAND --help" in out and "{" not in out  # no bare {run,plot,...}
    registered = {path[0] for path, _ in _subparsers(build_parser())}
    assert registered <= set(names), registered - set(names)  # a new command must be listed
    assert main([]) == 2 and "commands:" in capsys.readouterr().out


def test_every_argument_of_every_command_has_help():
    missing = []
    for path, sub in _subparsers(build_parser()):
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            name = action.dest
            if not action.help and (path[0], name) not in HELP_MISSING_ELSEWHERE:
                missing.append((" ".join(path), name))
        assert sub.description or path[0] in ("fit", "examples", "export"), path
    assert not missing, missing
    # the command's usage line names the command, not the top level's own usage
    commands = dict(_subparsers(build_parser()))
    assert commands[("plot",)].format_usage().startswith("usage: latticedns plot ")
    assert commands[("campaign", "run")].format_usage().startswith(
        "usage: latticedns campaign run ")


def test_figure_set_help_lists_and_docs_document_every_key(capsys):
    keys = [f.name for f in dataclasses.fields(DiffusionConditions)]
    with pytest.raises(SystemExit):
        main(["figure", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for key in keys:
        assert key in help_text, key
    docs = open(DOCS).read()
    for key in keys:
        assert re.search(rf"^\| `{key}` \|", docs, re.M), f"{key} not in the --set table"


@pytest.mark.parametrize("setting, words", [
    ("tau_c=1", ["--set", "'tau_c'", "a_nm", "relaxation_tau_c_us"]),
    ("tau_c_us", ["--set", "KEY=VALUE", "a_nm"]),
    ("include_gamma1=maybe", ["include_gamma1", "true or false"]),
    ("relaxation_tau_c_us=soon", ["relaxation_tau_c_us", "number or none"]),
])
def test_figure_set_refuses_bad_keys_naming_them(tmp_path, capsys, setting, words):
    out = tmp_path / "f.png"
    assert main(["figure", "fig3a", "-o", str(out), "--set", setting]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    for word in words:
        assert word in err, (word, err)
    assert not out.exists()


def test_figure_set_takes_optional_and_boolean_fields(tmp_path):
    # relaxation_tau_c_us defaults to None: a number or none (was a TypeError traceback)
    for i, setting in enumerate(("relaxation_tau_c_us=1e6", "relaxation_tau_c_us=none",
                                 "include_gamma1=false")):
        out = tmp_path / f"f{i}.png"
        assert main(["figure", "fig3b", "-o", str(out), "--dpi", "30", "--set", setting]) == 0
        assert out.stat().st_size > 1000
    assert cli._figure_value("a_nm", "0.7", 0.66) == 0.7
    assert cli._figure_value("include_gamma1", "Yes", True) is True
    assert cli._figure_value("relaxation_tau_c_us", "None", None) is None


def test_summary_numbers():
    assert cli._percent(-1e-9) == "0.000 %" and cli._percent(0.0) == "0.000 %"
    assert cli._percent(0.01235) == "+1.235 %" and cli._percent(-0.01027) == "-1.027 %"
    assert cli._percent(float("nan")) == "n/a"
    import numpy as np

    assert cli._time_format(np.arange(0, 10240, 10.0)) == (60.0, "min", 1)
    assert cli._time_format(np.arange(1024) * 0.025) == (1.0, "s", 3)
    assert cli._time_format(np.arange(32) * 10.0) == (1.0, "s", 0)


RUN = SHORT_CONTINUUM_RUN + '''
[[variant]]
name = "positive"
set = { "stage.prepare.dnp_sign" = 1 }
[[variant]]
name = "negative"
set = { "stage.prepare.dnp_sign" = -1 }
'''


def test_run_summary_one_line_per_run_one_unit_per_line(tmp_path, capsys):
    path = tmp_path / "r.toml"
    path.write_text(RUN)
    assert main(["run", str(path), "-o", str(tmp_path / "r.h5")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("wrote ") and "2 run(s) in " in out[0]
    runs = out[1:]
    assert [line.split()[0] for line in runs] == ["positive", "negative"]
    for line in runs:
        assert "visible max" in line and "-0.000" not in line
        assert "(310 s of detection)" in line  # 32 reads 10 s apart, from the first
        units = set(re.findall(r"\d (s|min)\b", line))
        assert units == {"s"}, line
        for number in re.findall(r"([+-]?\d+\.\d+) %", line):
            assert len(number.split(".")[1]) == 3


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_lines_when_not_a_terminal():
    stream = io.StringIO()
    status = cli._Status("run", stream, interval_s=0.05)
    assert status._thread is not None
    status.update(lambda elapsed: f"working, {elapsed:.2f} s in")
    time.sleep(0.4)
    status.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 3 and all(re.fullmatch(r"\[run +\d+\.\d s\] working, \d\.\d\d s in", ln)
                                   for ln in lines), lines
    assert "\r" not in stream.getvalue()
    time.sleep(0.15)
    assert stream.getvalue().splitlines() == lines  # nothing after close
    # nothing for work shorter than the interval
    quiet = io.StringIO()
    with cli._Status("run", quiet, interval_s=10.0) as status:
        status.update("short")
    assert quiet.getvalue() == ""


def test_progress_on_a_terminal_is_one_line_and_no_thread():
    stream = _Terminal()
    status = cli._Status("run", stream, interval_s=0.05)
    assert status._thread is None
    status.update("ignored in the line", "[1/2 a] stage 1/5")
    status.update("ignored", "[1/2 a] stage 2/5")
    time.sleep(0.15)
    status.close()
    assert stream.getvalue() == "\r[1/2 a] stage 1/5\x1b[K\r[1/2 a] stage 2/5\x1b[K\n"
    assert cli._Status("bench", _Terminal()).interval_s == cli.PROGRESS_INTERVAL_S == 10.0


def test_run_prints_progress_lines_to_a_log(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "PROGRESS_INTERVAL_S", 0.02)
    import latticedns.experiment as experiment

    real = experiment.execute_runs

    def slow(specs, progress=None):  # a run long enough for a few lines
        for item in real(specs, progress):
            time.sleep(0.15)
            yield item

    monkeypatch.setattr(experiment, "execute_runs", slow)
    path = tmp_path / "r.toml"
    path.write_text(RUN)
    assert main(["run", str(path), "-o", str(tmp_path / "r.h5")]) == 0
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.splitlines() if ln.startswith("[run ")]
    assert len(lines) >= 3, captured.err
    assert any(re.search(r"run [12]/2 (positive|negative): stage \d/5", ln) for ln in lines)
    assert "[run " not in captured.out and "wrote" in captured.out


def test_bench_prints_a_line_per_step_and_progress_within_a_step(capsys, monkeypatch):
    monkeypatch.setattr(cli, "PROGRESS_INTERVAL_S", 0.05)
    import latticedns.benchmark as benchmark

    def fake(n, progress=None, **kw):
        progress("run: detection (1024 x 10 s) at 0.1 s")
        time.sleep(0.3)
        return {"protons": n}

    monkeypatch.setattr(benchmark, "run_benchmark", fake)
    assert main(["bench", "--protons", "600"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == '{"protons": 600}'
    err = captured.err.splitlines()
    assert re.fullmatch(r"\[bench +\d+\.\d s\] estimate: ~[\d,]+ pairs, ~\d+\.\d GB", err[0])
    assert err[1].endswith("] run: detection (1024 x 10 s) at 0.1 s")
    still = [ln for ln in err[2:] if ln.endswith("run: detection (1024 x 10 s) at 0.1 s "
                                                 "(still running)")]
    assert len(still) >= 2, err
