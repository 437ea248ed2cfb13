"""Run a campaign: independent tasks on a process pool, one coordinator writing the store.

Workers (:func:`~latticedns.campaign.worker.execute_task`) only compute and return
records.  The coordinator writes each finished run to its own file in ``STORE.d/``
(atomic), then rebuilds the store file from that directory (atomic) when the time since
the last rebuild is 20 times its cost (so rebuilding takes < 5 % of the time) and at the end.  Results do not depend on the number of
workers: every run is computed from its own document and seed, alone in a process.
"""

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import time
from dataclasses import dataclass

from ..errors import ConfigError
from ..store import read_run
from .rundir import RunDir, run_dir_of
from .store import CampaignStore, build_store
from .worker import execute_task

__all__ = ["THREAD_VARIABLES", "CampaignSummary", "plan_campaign", "run_campaign"]


@dataclass(frozen=True)
class CampaignSummary:
    """What :func:`run_campaign` did.

    Attributes
    ----------
    n_runs, n_done, n_failed : int
        Runs of the campaign; finished and failed ones after this call.
    n_executed : int
        Tasks executed by this call (the others were already done).
    wall_s : float
        Wall-clock seconds of the call.
    overhead_s : float
        Coordinator seconds spent scanning, writing per-run files and rebuilding the store.
    """

    n_runs: int
    n_done: int
    n_failed: int
    n_executed: int
    wall_s: float
    overhead_s: float


def _info(task, wall_s, error=""):
    return {"run_id": task.run_id, "fingerprint": task.fingerprint, "point": task.point,
            "values": task.values, "seed_index": task.seed_index, "variant": task.variant,
            "wall_s": wall_s, "error": error}


def _recover(store, rundir, tasks_by_id):
    """Rebuild missing per-run files from an existing store (the directory was deleted)."""
    old = CampaignStore(store)
    for run_id, status, fp, wall in zip(old.table["run_id"], old.table["status"],
                                        old.table["fingerprint"], old.table["wall_s"]):
        if status == "done":
            task = tasks_by_id.get(run_id)
            info = _info(task, float(wall)) if task else {"run_id": run_id}
            info["fingerprint"] = fp
            rundir.write_done(read_run(store, run_id), info)


def plan_campaign(campaign, store, force=False):
    """Check a store against a campaign before anything is written.

    Returns
    -------
    existing : dict
        ``RunDir.scan()`` of the per-run directory.
    stale : list of str
        Finished runs that this campaign would change (removed only with ``force``).

    Raises
    ------
    ConfigError
        The store is not a campaign store, its directory is missing or not writable,
        or finished runs differ from the campaign and ``force`` is not given.
    """
    store = os.fspath(store)
    parent = os.path.dirname(os.path.abspath(store))
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        raise ConfigError("output", f"directory {parent} does not exist or is not writable")
    if os.path.isdir(store):
        raise ConfigError("output", f"{store} is a directory")
    if os.path.exists(store) and not force:
        CampaignStore(store)  # refuses anything but a campaign store
    existing = RunDir(run_dir_of(store)).scan()
    tasks = {t.run_id: t for t in campaign.tasks}
    stale = sorted(r for r, i in existing.items() if i["status"] == "done"
                   and (r not in tasks or i.get("fingerprint") != tasks[r].fingerprint))
    if stale and not force:
        raise ConfigError("campaign", f"{len(stale)} finished run(s) in {store} differ from "
                                      f"this campaign file (e.g. {stale[0]!r}); pass --force "
                                      f"to discard them and recompute")
    return existing, stale


#: Thread-count variables set to "1" in worker processes (unless already set by the user):
#: one BLAS thread per worker, whatever the number of workers, so results do not depend on
#: it and two workers do not oversubscribe the cores.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _single_threaded_children():
    saved = {k: os.environ.get(k) for k in THREAD_VARIABLES}
    for k in THREAD_VARIABLES:
        os.environ.setdefault(k, "1")
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _local_pool(workers):
    return cf.ProcessPoolExecutor(max_workers=workers,
                                  mp_context=multiprocessing.get_context("spawn"))


def run_campaign(campaign, store, *, workers=None, force=False, progress=None,
                 rebuild_fraction=0.05):
    """Run every unfinished task of a campaign into a store (resuming a previous call).

    Parameters
    ----------
    campaign : CampaignSpec
    store : str
        The HDF5 store; finished runs also live in ``STORE.d/``.
    workers : int, optional
        Processes of the local pool (default: ``os.cpu_count()``).
    force : bool
        Discard finished runs that the campaign changed, and overwrite a store that is
        not a campaign store.
    progress : callable, optional
        ``progress(n_finished, n_runs, n_failed, elapsed_s, left_s)`` after each run.
    rebuild_fraction : float
        The store is rebuilt after a finished run when the time since the last rebuild
        is at least ``cost / rebuild_fraction`` (cost: the last rebuild's seconds), which
        keeps rebuilding under that fraction of the wall time; always at the end.

    Returns
    -------
    CampaignSummary
    """
    tick = time.perf_counter()
    store = os.fspath(store)
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        raise ConfigError("--workers", f"must be >= 1, got {workers}")
    existing, stale = plan_campaign(campaign, store, force)
    tasks_by_id = {t.run_id: t for t in campaign.tasks}
    rundir = RunDir(run_dir_of(store))
    recover = not os.path.isdir(rundir.path) and os.path.exists(store)
    rundir.create()
    rundir.lock()
    try:
        overhead = time.perf_counter()
        if recover:
            try:
                _recover(store, rundir, tasks_by_id)
            except ConfigError:  # not a campaign store (force given): nothing to keep
                pass
            existing = rundir.scan()
        for run_id in stale:
            rundir.remove(run_id)
            existing.pop(run_id, None)
        todo = [t for t in campaign.tasks if existing.get(t.run_id, {}).get("status") != "done"]
        n_done = len(campaign.tasks) - len(todo)
        n_failed = 0
        t0 = time.perf_counter()
        build_store(store, campaign, existing)
        last_build = time.perf_counter()
        cost = last_build - t0
        overhead = last_build - overhead
        if todo:
            pool = _local_pool(min(workers, len(todo)))
            try:
                with _single_threaded_children():  # workers are spawned on submit
                    futures = [pool.submit(execute_task, t) for t in todo]
                for k, fut in enumerate(cf.as_completed(futures), 1):
                    out = fut.result()
                    t0 = time.perf_counter()
                    task = tasks_by_id[out.run_id]
                    if out.record is not None:
                        path = rundir.write_done(out.record, _info(task, out.wall_s))
                        existing[task.run_id] = dict(_info(task, out.wall_s), status="done",
                                                     file=path)
                        n_done += 1
                    else:
                        info = _info(task, out.wall_s, out.error)
                        rundir.write_failed(info)
                        existing[task.run_id] = dict(info, status="failed")
                        n_failed += 1
                    if k == len(todo) or t0 - last_build >= cost / rebuild_fraction:
                        t1 = time.perf_counter()
                        build_store(store, campaign, existing)
                        last_build = time.perf_counter()
                        cost = last_build - t1
                    overhead += time.perf_counter() - t0
                    if progress is not None:
                        elapsed = time.perf_counter() - tick
                        progress(n_done + n_failed, len(campaign.tasks), n_failed, elapsed,
                                 elapsed / k * (len(todo) - k))
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown()
    finally:
        rundir.unlock()
    return CampaignSummary(len(campaign.tasks), n_done, n_failed, len(todo),
                           time.perf_counter() - tick, overhead)
