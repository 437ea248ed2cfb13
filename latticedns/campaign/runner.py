"""Run a campaign: independent tasks on an executor, one coordinator writing the store.

The tasks run on a local process pool or on a dask.distributed cluster
(:mod:`latticedns.campaign.executors`).  Workers
(:func:`~latticedns.campaign.worker.execute_task`) only compute and return records.  The
coordinator writes each finished run to its own file in ``STORE.d/`` as it arrives
(atomic), then rebuilds the store file from that directory (atomic) when the time since
the last rebuild is 20 times its cost (so rebuilding takes < 5 % of the time) and at the
end.  Results do not depend on the executor or the number of workers: every run is
computed from its own document and seed, in a process with one BLAS thread.
"""

import json
import os
import time
from dataclasses import dataclass

from ..errors import ConfigError
from ..store import read_run
from .executors import THREAD_VARIABLES, make_executor
from .rundir import RunDir, run_dir_of
from .store import CampaignStore, build_store

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


def _recover(store, rundir, tasks_by_id, present):
    """Write the per-run files of the store's finished runs that the directory lacks
    (``present``: its scan), so the store's runs are never lost to a deleted or emptied
    directory: the store is rebuilt only from files that exist."""
    old = CampaignStore(store)
    for run_id, status, fp, wall in zip(old.table["run_id"], old.table["status"],
                                        old.table["fingerprint"], old.table["wall_s"]):
        if status == "done" and present.get(run_id, {}).get("status") != "done":
            task = tasks_by_id.get(run_id)
            info = _info(task, float(wall)) if task else {"run_id": run_id}
            info["fingerprint"] = fp
            rundir.write_done(read_run(store, run_id), info)


def _validate_tasks(campaign):
    """Resolve every distinct run document of the campaign (every sweep point, seed and
    variant) and size its lattice sample, so that a bad point is refused before any run
    starts (ConfigError naming the key and the run)."""
    from ..experiment.config import parse_run_document
    from ..lattice.sizing import check_fits

    seen = set()
    for task in campaign.tasks:
        key = json.dumps(task.document, sort_keys=True, default=str)
        if key in seen:
            continue
        seen.add(key)
        try:
            for spec in parse_run_document(task.document, task.base_dir):
                if spec.model == "lattice":
                    check_fits(spec.sample, spec.physics, "sample")
        except ConfigError as exc:
            raise ConfigError(exc.key, f"{exc.message} (run {task.run_id!r})") from None


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
    _validate_tasks(campaign)
    parent = os.path.dirname(os.path.abspath(store))
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        raise ConfigError("output", f"directory {parent} does not exist or is not writable")
    if os.path.isdir(store):
        raise ConfigError("output", f"{store} is a directory")
    if os.path.exists(store) and not force:
        try:
            CampaignStore(store)  # refuses anything but a campaign store
        except ConfigError as exc:
            raise ConfigError("output", f"{exc.message}; --force rebuilds it from the "
                              f"finished runs in {run_dir_of(store)}/") from None
    existing = RunDir(run_dir_of(store)).scan()
    view = dict(existing)  # with the store's finished runs that the directory lacks
    if os.path.exists(store):
        try:
            old = CampaignStore(store)
        except ConfigError:  # not a campaign store (only with force): nothing to keep
            old = None
        if old is not None:
            for run_id, status, fp in zip(old.table["run_id"], old.table["status"],
                                          old.table["fingerprint"]):
                if status == "done" and view.get(run_id, {}).get("status") != "done":
                    view[run_id] = {"run_id": run_id, "status": "done", "fingerprint": fp}
    tasks = {t.run_id: t for t in campaign.tasks}
    stale = sorted(r for r, i in view.items() if i["status"] == "done"
                   and (r not in tasks or i.get("fingerprint") != tasks[r].fingerprint))
    if stale and not force:
        raise ConfigError("campaign", f"{len(stale)} finished run(s) in {store} differ from "
                                      f"this campaign file (e.g. {stale[0]!r}); pass --force "
                                      f"to discard them and recompute")
    return existing, stale


def _record_outcome(out, task, rundir, existing):
    """Write one outcome to the per-run directory; True if the run is done."""
    if out.record is not None:
        path = rundir.write_done(out.record, _info(task, out.wall_s))
        existing[task.run_id] = dict(_info(task, out.wall_s), status="done", file=path)
        return True
    info = _info(task, out.wall_s, out.error)
    rundir.write_failed(info)
    existing[task.run_id] = dict(info, status="failed")
    return False


def run_campaign(campaign, store, *, workers=None, scheduler=None, force=False, progress=None,
                 rebuild_fraction=0.05):
    """Run every unfinished task of a campaign into a store (resuming a previous call).

    Parameters
    ----------
    campaign : CampaignSpec
    store : str
        The HDF5 store; finished runs also live in ``STORE.d/``.
    workers : int, optional
        Processes of the local pool (default: ``os.cpu_count()``); not with ``scheduler``.
    scheduler : str or distributed.Client or cluster, optional
        Run the tasks on this dask.distributed cluster instead of a local pool: a scheduler
        address (``"tcp://host:8786"``), a scheduler file (``*.json``), a ``Client`` or a
        cluster object (``LocalCluster``, ``dask_jobqueue.SLURMCluster``, ...); see
        :class:`~latticedns.campaign.executors.DaskExecutor`.  Needs
        ``latticedns[distributed]``.  The stored results are the same bits.
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

    Raises
    ------
    ConfigError
        Bad ``workers`` or ``scheduler`` (dask missing, unreachable), or see
        :func:`plan_campaign`; nothing is written then.
    """
    tick = time.perf_counter()
    store = os.fspath(store)
    existing, stale = plan_campaign(campaign, store, force)
    executor = make_executor(workers, scheduler)  # before writing: a bad one writes nothing
    tasks_by_id = {t.run_id: t for t in campaign.tasks}
    rundir = RunDir(run_dir_of(store))
    completed = False
    try:
        rundir.create()
        rundir.lock(store)
        overhead = time.perf_counter()
        if os.path.exists(store):  # finished runs the directory lacks (deleted, emptied)
            try:
                _recover(store, rundir, tasks_by_id, rundir.scan())
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
        for k, out in enumerate(executor.outcomes(todo) if todo else (), 1):
            t0 = time.perf_counter()
            if _record_outcome(out, tasks_by_id[out.run_id], rundir, existing):
                n_done += 1
            else:
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
        completed = True
    finally:
        executor.close(cancel=not completed)
        rundir.unlock()
    return CampaignSummary(len(campaign.tasks), n_done, n_failed, len(todo),
                           time.perf_counter() - tick, overhead)
