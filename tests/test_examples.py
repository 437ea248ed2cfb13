"""Bundled inputs by name (issue 14): a run file names a bundled geometry and runs from any
directory; `latticedns examples DIR` copies every bundled input, which all resolve."""

import argparse
import os
import shutil
import sys

import pytest

from latticedns.campaign import load_campaign, plan_campaign
from latticedns.errors import ConfigError
from latticedns.examples import copy_examples, example_files, geometry_names, resolve_sample
from latticedns.experiment import load_run_file
from latticedns.fit import load_fit_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_a_copied_run_file_finds_its_bundled_geometry(tmp_path, monkeypatch):
    """The bundled run file, copied alone elsewhere, resolves to the same runs and runs."""
    from latticedns.cli import main
    from latticedns.experiment import parameters_of

    src = os.path.join(ROOT, "runs", "hypres-mw-off.toml")
    shutil.copy(src, tmp_path / "mine.toml")
    monkeypatch.chdir(tmp_path)
    here, there = load_run_file(src), load_run_file("mine.toml")
    assert [parameters_of(s) for s in here] == [parameters_of(s) for s in there]
    assert there[0].run["sample"] == "dnp-juice-50mM"
    text = (tmp_path / "mine.toml").read_text().replace("n_radicals = 20", "n_radicals = 4")
    text = text.replace("hyperfine_cutoff_nm = 3.0", "hyperfine_cutoff_nm = 1.5")
    text = text.replace("profile_times_s = [650.0, 1250.0, 2450.0]", "profile_times_s = [650.0]")
    (tmp_path / "small.toml").write_text(text.replace("n_pulses = 1024", "n_pulses = 8"))
    assert main(["run", "small.toml", "-o", "small.h5", "--only", "positive"]) == 0


def test_unknown_names_and_paths_are_told_apart():
    with pytest.raises(ConfigError, match=r"run.sample: 'dnp-juice-5mM' is not a bundled "
                                          r"geometry \(bundled: dnp-juice-100mM"):
        resolve_sample("dnp-juice-5mM", ".")
    assert resolve_sample("mine.toml", "/data") == "/data/mine.toml"
    assert set(geometry_names()) >= {"dnp-juice-10mM", "dnp-juice-50mM", "fcc-benchmark-50mM"}


def test_examples_are_copied_once_and_all_of_them_resolve(tmp_path, capsys):
    from latticedns.cli_examples import add_examples_parser

    parser = argparse.ArgumentParser()
    add_examples_parser(parser.add_subparsers())
    args = parser.parse_args(["examples", str(tmp_path / "ex")])
    assert args.func(args) == 0 and "latticedns run" in capsys.readouterr().out
    copied = sorted(os.path.relpath(os.path.join(d, f), tmp_path / "ex")
                    for d, _, fs in os.walk(tmp_path / "ex") for f in fs)
    assert copied == sorted(rel for _, rel in example_files())
    assert {"runs/hypres-mw-off.toml", "runs/fit-hypres-mw-off.toml",
            "runs/data/hypres-mw-off-synthetic.csv", "geometries/dnp-juice-50mM.toml"} \
        <= set(copied)
    # every copied input is valid where it landed
    runs = tmp_path / "ex" / "runs"
    for name in os.listdir(runs):
        path = runs / name
        if not name.endswith(".toml"):
            continue
        doc = tomllib.loads(path.read_text())
        if "campaign" in doc:
            campaign = load_campaign(str(path))
            assert campaign.tasks
            plan_campaign(campaign, str(tmp_path / f"{name}.h5"))  # every task resolves
        elif "fit" in doc:
            assert load_fit_file(str(path)).n_points > 0
        else:
            assert load_run_file(str(path))
    # a second copy refuses before writing anything; --force replaces
    before = {p: os.stat(p).st_mtime_ns for p in (tmp_path / "ex").rglob("*") if p.is_file()}
    with pytest.raises(ConfigError, match="exists .* --force replaces them"):
        copy_examples(str(tmp_path / "ex"))
    assert before == {p: os.stat(p).st_mtime_ns for p in before}
    assert len(copy_examples(str(tmp_path / "ex"), force=True)) == len(copied)
    assert not list((tmp_path / "ex").rglob("*.tmp"))


def test_the_package_list_covers_the_source_tree_and_the_bundled_directories():
    """pyproject.toml lists the packages by hand (to install the bundled inputs inside the
    package): every package of the tree is listed and every mapped directory exists."""
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        tool = tomllib.load(fh)["tool"]["setuptools"]
    tree = {os.path.relpath(d, ROOT).replace(os.sep, ".")
            for d, _, fs in os.walk(os.path.join(ROOT, "latticedns")) if "__init__.py" in fs}
    listed = set(tool["packages"])
    assert tree == {p for p in listed if p not in tool["package-dir"]}
    for package, folder in tool["package-dir"].items():
        assert package in listed and os.path.isdir(os.path.join(ROOT, folder))
