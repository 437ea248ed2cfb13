"""Campaign stores under interruption and misuse (issue 13): temporaries of killed
coordinators are removed by the next one (only once it holds the lock), an emptied or
deleted per-run directory never loses the store's finished runs, a truncated store says how
to rebuild it, and a killed worker process fails only its run."""

import fcntl
import os
import signal
import subprocess
import sys
import time

import pytest

from latticedns.campaign import load_campaign, open_store, run_campaign
from latticedns.errors import ConfigError

from test_campaign import arrays, assert_same, setup


def _done(store):
    return int(open_store(store).table["status"].tolist().count("done"))


def test_killed_coordinators_leftovers_are_removed_by_the_next_one(tmp_path):
    camp = setup(tmp_path)
    store = str(tmp_path / "s.h5")
    run_campaign(load_campaign(camp), store, workers=1)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # a dead process
    beside = tmp_path / f".s.h5.{gone}.deadbeef.tmp"
    inside = tmp_path / "s.h5.d" / ".run-x.h5.1.tmp"
    beside.write_bytes(b"half a store")
    inside.write_bytes(b"half a run")
    again = run_campaign(load_campaign(camp), store, workers=1)
    assert again.n_executed == 0 and not beside.exists() and not inside.exists()


def test_a_locked_store_is_refused_before_any_cleanup(tmp_path):
    camp = setup(tmp_path)
    store = str(tmp_path / "s.h5")
    os.makedirs(store + ".d")
    theirs = tmp_path / "s.h5.d" / ".run-y.h5.7.tmp"
    theirs.write_bytes(b"the other coordinator's run, being written")
    with open(tmp_path / "s.h5.d" / ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another coordinator holds it
        with pytest.raises(ConfigError, match="another campaign"):
            run_campaign(load_campaign(camp), store, workers=1)
    assert theirs.exists() and not os.path.exists(store)


@pytest.mark.parametrize("how", ["emptied", "deleted"])
def test_the_store_keeps_its_runs_when_the_run_directory_is_lost(tmp_path, how):
    camp = setup(tmp_path)
    store = str(tmp_path / "s.h5")
    run_campaign(load_campaign(camp), store, workers=2)
    before = arrays(store)
    rundir = store + ".d"
    for name in os.listdir(rundir):
        os.unlink(os.path.join(rundir, name))
    if how == "deleted":
        os.rmdir(rundir)
    again = run_campaign(load_campaign(camp), store, workers=1)
    assert again.n_executed == 0 and _done(store) == 16
    assert_same(arrays(store), before)
    assert len([n for n in os.listdir(rundir) if n.endswith(".h5")]) == 16


def test_a_truncated_store_says_that_force_rebuilds_it(tmp_path):
    camp = setup(tmp_path)
    store = str(tmp_path / "s.h5")
    run_campaign(load_campaign(camp), store, workers=1)
    before = arrays(store)
    with open(store, "r+b") as fh:
        fh.truncate(1000)
    with pytest.raises(ConfigError, match="--force rebuilds"):
        run_campaign(load_campaign(camp), store, workers=1)
    rebuilt = run_campaign(load_campaign(camp), store, workers=1, force=True)
    assert rebuilt.n_executed == 0
    assert_same(arrays(store), before)


def _children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(entry))
            except OSError:
                continue
    return out


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to find the workers")
def test_a_killed_worker_fails_at_most_its_run_and_the_campaign_finishes(tmp_path):
    camp = setup(tmp_path)
    store = str(tmp_path / "s.h5")
    proc = subprocess.Popen([sys.executable, "-m", "latticedns.cli", "campaign", "run", camp,
                             "-o", store, "--workers", "2"], stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    deadline, victims = time.time() + 60, []
    while time.time() < deadline and not victims:
        time.sleep(0.2)
        workers = [c for c in _children(proc.pid)
                   if "spawn_main" in open(f"/proc/{c}/cmdline").read().replace("\0", " ")]
        victims = workers[:1]
    assert victims, "no worker process seen"
    os.kill(victims[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert "Traceback" not in err, err
    table = open_store(store).table
    status = table["status"].tolist()
    assert status.count("pending") == 0 and status.count("done") >= 15, status
    for s, e in zip(status, table["error"].tolist()):
        if s == "failed":
            assert "worker process died" in e
    assert proc.returncode == (0 if status.count("failed") == 0 else 1)


def test_sigkilled_run_resumes_bit_identically_without_leftovers(tmp_path):
    """``latticedns run`` killed (SIGKILL) three times at random moments, each time resumed
    with --resume: the result equals an uninterrupted run bit for bit, and no temporary
    file of the killed writers is left."""
    import random

    from latticedns.store import read_runs

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    text = open(os.path.join(root, "runs", "hypres-mw-on.toml")).read().replace(
        '"../geometries/', f'"{root}/geometries/').replace('model = "lattice"',
                                                            'model = "continuum"')
    run = tmp_path / "on.toml"
    run.write_text(text)
    ref, out = tmp_path / "ref.h5", tmp_path / "out.h5"
    cli = [sys.executable, "-m", "latticedns.cli", "run", str(run)]
    subprocess.run(cli + ["-o", str(ref)], check=True, capture_output=True)
    rng = random.Random(3)
    for k in range(3):
        proc = subprocess.Popen(cli + ["-o", str(out)] + (["--resume"] if out.exists() else []),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = subprocess.run(cli + ["-o", str(out)] + (["--resume"] if out.exists() else []),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    a = {r.name: r.result for r in read_runs(ref)}
    b = {r.name: r.result for r in read_runs(out)}
    assert sorted(a) == sorted(b)
    for name in a:
        for key in ("t_s", "visible", "hidden"):
            assert getattr(a[name], key).tobytes() == getattr(b[name], key).tobytes()
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")] == []
