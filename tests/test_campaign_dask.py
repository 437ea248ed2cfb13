"""Campaigns on dask.distributed: same bits as the local pool; clear errors without dask."""

import sys

import pytest

from latticedns.campaign import load_campaign, open_store, run_campaign
from latticedns.cli import main
from latticedns.errors import ConfigError

from test_campaign import BASE, CAMPAIGN, FAILING, arrays, assert_same, setup

distributed = pytest.importorskip("distributed")


def _table(store):
    t = open_store(store).table
    return {k: list(t[k]) for k in ("run_id", "status", "error", "seed", "fingerprint")}


def test_local_cluster_bit_identical_to_one_worker(tmp_path, capsys):
    path = setup(tmp_path, FAILING, BASE.replace("mesh_refinement = 0.5", ""))
    one = str(tmp_path / "one.h5")
    run_campaign(load_campaign(path), one, workers=1)
    calls = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        # a cluster object, a Client (kept open) and an address string (the CLI)
        summary = run_campaign(load_campaign(path), str(tmp_path / "cluster.h5"),
                               scheduler=cluster, progress=lambda *a: calls.append(a))
        with distributed.Client(cluster, set_as_default=False) as client:
            run_campaign(load_campaign(path), str(tmp_path / "client.h5"), scheduler=client)
            assert client.status == "running"
        address = str(tmp_path / "address.h5")
        assert main(["campaign", "run", path, "-o", address, "--scheduler",
                     cluster.scheduler_address]) == 1  # two runs fail (the dense method at 20,114 protons)
        assert "2/4 run(s) done, 2 failed" in capsys.readouterr().out
    assert (summary.n_done, summary.n_failed, summary.n_executed) == (2, 2, 4)
    assert [c[:2] for c in calls] == [(1, 4), (2, 4), (3, 4), (4, 4)]  # as they complete
    assert calls[-1][2] == 2 and calls[-1][4] == 0.0
    reference = arrays(one)
    assert len(reference) == 2 * 4
    for store in ("cluster.h5", "client.h5", "address.h5"):
        assert_same(reference, arrays(str(tmp_path / store)))
        assert _table(str(tmp_path / store)) == _table(one)


def test_scheduler_without_dask_exits_2_and_writes_nothing(tmp_path, capsys, monkeypatch):
    path = setup(tmp_path, CAMPAIGN)
    store = tmp_path / "s.h5"
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    assert main(["campaign", "run", path, "-o", str(store), "--scheduler",
                 "tcp://127.0.0.1:8786"]) == 2
    err = capsys.readouterr().err
    assert "--scheduler: needs dask.distributed: pip install 'latticedns[distributed]'" in err
    assert err.count("\n") == 1
    assert not store.exists() and not (tmp_path / "s.h5.d").exists()


def test_bad_scheduler_arguments(tmp_path, capsys):
    path = setup(tmp_path, CAMPAIGN)
    store = tmp_path / "s.h5"
    assert main(["campaign", "run", path, "-o", str(store), "--scheduler", "tcp://x:1",
                 "--workers", "2"]) == 2
    assert "--workers: not used with --scheduler" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="--scheduler"):
        run_campaign(load_campaign(path), str(store), scheduler=42)
    with pytest.raises(ConfigError, match="--scheduler: empty address"):
        run_campaign(load_campaign(path), str(store), scheduler=" ")
    assert main(["campaign", "run", path, "-o", str(store), "--scheduler", "nowhere"]) == 2
    assert "--scheduler: cannot connect to nowhere" in capsys.readouterr().err
    assert main(["campaign", "run", path, "-o", str(store), "--scheduler", "s.json"]) == 2
    assert "scheduler file s.json not found" in capsys.readouterr().err
    assert not store.exists() and not (tmp_path / "s.h5.d").exists()
