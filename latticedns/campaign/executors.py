"""Where campaign tasks run: a local process pool or an existing dask.distributed cluster.

Both executors submit :func:`~latticedns.campaign.worker.execute_task` for every task and
yield the returned :class:`~latticedns.campaign.worker.TaskOutcome` objects as the tasks
finish; they never write anything (the coordinator does).  Every worker process runs with
one BLAS/OpenMP thread, so a run gives the same bits whatever the executor and the number
of workers.  ``dask.distributed`` is imported only by :class:`DaskExecutor`.
"""

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import warnings

from ..errors import ConfigError
from ..resources import THREAD_VARIABLES, single_threaded_children
from .worker import TaskOutcome, execute_task

__all__ = ["THREAD_VARIABLES", "DISTRIBUTED_MISSING", "LocalExecutor", "DaskExecutor",
           "make_executor"]

#: Message of the ConfigError raised when a scheduler is given but dask is not installed.
DISTRIBUTED_MISSING = "needs dask.distributed: pip install 'latticedns[distributed]'"

#: Broken pools a run may be unfinished in before it is reported failed (`LocalExecutor`).
MAX_BREAKS = 2


class LocalExecutor:
    """A ``concurrent.futures`` process pool (spawn) on this machine.

    Parameters
    ----------
    workers : int
        Maximum number of processes (at most one per task is started).
    """

    def __init__(self, workers):
        if workers < 1:
            raise ConfigError("--workers", f"must be >= 1, got {workers}")
        self.workers = workers
        self._pool = None

    def outcomes(self, tasks):
        """Submit ``tasks`` and yield their outcomes in order of completion.

        A worker process that dies (killed, out of memory) breaks the pool: the runs that
        were still unfinished are submitted again to a new pool, and a run that was
        unfinished in :data:`MAX_BREAKS` broken pools is reported failed with that reason,
        so the others finish (a resume retries it).
        """
        pending, breaks = list(tasks), {t.run_id: 0 for t in tasks}
        while pending:
            self._pool = cf.ProcessPoolExecutor(max_workers=min(self.workers, len(pending)),
                                                mp_context=multiprocessing.get_context("spawn"))
            with single_threaded_children():  # workers are spawned on submit
                futures = {self._pool.submit(execute_task, t): t for t in pending}
            broken = False
            for fut in cf.as_completed(futures):
                try:
                    out = fut.result()
                except cf.process.BrokenProcessPool:
                    broken = True
                    continue
                pending = [t for t in pending if t.run_id != out.run_id]
                yield out
            self._pool.shutdown(wait=True)
            self._pool = None
            if not broken:
                return
            for t in list(pending):
                breaks[t.run_id] += 1
                if breaks[t.run_id] >= MAX_BREAKS:
                    pending.remove(t)
                    yield TaskOutcome(run_id=t.run_id, record=None, wall_s=float("nan"),
                                      error=f"its worker process died {MAX_BREAKS} times "
                                            "(killed, or out of memory)")

    def close(self, cancel=False):
        """Shut the pool down; ``cancel``: drop queued tasks and do not wait."""
        if self._pool is not None:
            self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
            self._pool = None


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ConfigError("--scheduler", DISTRIBUTED_MISSING) from None
    return distributed


def _thread_environment():
    """Run on each dask worker: its thread-count variables."""
    return {k: os.environ.get(k) for k in THREAD_VARIABLES}


class DaskExecutor:
    """The workers of an existing dask.distributed cluster.

    Parameters
    ----------
    scheduler : str or distributed.Client or cluster
        A scheduler address (``tcp://host:8786``), the path of a scheduler file
        (``*.json``, written by ``dask scheduler --scheduler-file``), a connected
        ``distributed.Client`` (kept open), or a cluster object such as
        ``distributed.LocalCluster`` or ``dask_jobqueue.SLURMCluster`` (a client is
        opened on it and closed by :meth:`close`; the cluster is left running).

    Raises
    ------
    ConfigError
        dask.distributed is not installed, the scheduler is of another type, or it cannot
        be reached (key ``--scheduler``).

    Notes
    -----
    Workers need the same latticedns version and the geometry files at the same paths
    (a shared filesystem); only records travel back.  A warning is issued if a worker's
    :data:`THREAD_VARIABLES` are not 1 (``dask worker --no-nanny``, or threads of the
    coordinator with ``LocalCluster(processes=False)``), since runs could then differ in
    the last bits from the local pool's.
    """

    def __init__(self, scheduler):
        distributed = _import_distributed()
        self._distributed = distributed
        self._futures = {}
        if isinstance(scheduler, distributed.Client):
            self.client, self._own = scheduler, False
        else:
            if isinstance(scheduler, str):
                if not scheduler.strip():
                    raise ConfigError("--scheduler", "empty address")
                is_file = scheduler.endswith(".json")
                if is_file and not os.path.isfile(scheduler):
                    raise ConfigError("--scheduler", f"scheduler file {scheduler} not found")
                kwargs = {"scheduler_file": scheduler} if is_file else {"address": scheduler}
            elif hasattr(scheduler, "scheduler_address"):
                kwargs = {"address": scheduler}
            else:
                raise ConfigError("--scheduler", f"must be an address, a scheduler file, a "
                                                 f"distributed.Client or a cluster, got "
                                                 f"{type(scheduler).__name__}")
            client = distributed.Client.__new__(distributed.Client)
            try:
                client.__init__(set_as_default=False, **kwargs)
            except (OSError, TimeoutError, ValueError) as exc:
                with contextlib.suppress(Exception):  # else its __del__ waits and complains
                    client.close(timeout=1)
                reason = (str(exc) or type(exc).__name__).splitlines()[0]
                raise ConfigError("--scheduler", f"cannot connect to {scheduler}: {reason}") \
                    from None
            self.client = client
            self._own = True
        try:
            self._check_threads()
        except BaseException:
            self.close()
            raise

    def _check_threads(self):
        env = self.client.run(_thread_environment)
        bad = sorted({f"{k}={v or 'unset'}" for w in env.values() for k, v in w.items()
                      if v != "1"})
        if bad:
            warnings.warn(f"dask workers run with {', '.join(bad)}: runs may differ in the last "
                          f"bits from the local pool's; use worker processes started by a "
                          f"nanny (dask worker's default, LocalCluster(processes=True)) or set "
                          f"these variables to 1 before the workers start", RuntimeWarning,
                          stacklevel=2)

    def outcomes(self, tasks):
        """Submit ``tasks`` to the cluster and yield their outcomes in order of completion.

        A task whose worker died repeatedly (``KilledWorker``, e.g. out of memory) is
        returned as a failed run; any other error of the cluster propagates.
        """
        futures = self.client.map(execute_task, list(tasks), pure=False)
        self._futures = dict(zip(futures, tasks))
        for fut in self._distributed.as_completed(futures, loop=self.client.loop):
            task = self._futures.pop(fut)
            try:
                out = fut.result()
            except self._distributed.KilledWorker as exc:
                out = TaskOutcome(task.run_id, None, f"KilledWorker: {exc}".splitlines()[0],
                                  float("nan"))
            fut.release()
            yield out

    def close(self, cancel=False):
        """Cancel the pending tasks (``cancel``), then close the client if it was opened here."""
        if cancel and self._futures:
            self.client.cancel(list(self._futures))
        self._futures = {}
        if self._own:
            self.client.close()
            self._own = False


def make_executor(workers=None, scheduler=None):
    """The executor for :func:`~latticedns.campaign.run_campaign`'s arguments.

    Parameters
    ----------
    workers : int, optional
        Local processes (default ``os.cpu_count()``); not allowed with ``scheduler``.
    scheduler : str or distributed.Client or cluster, optional
        Run on this dask.distributed cluster instead (see :class:`DaskExecutor`).

    Returns
    -------
    LocalExecutor or DaskExecutor
    """
    if scheduler is None:
        return LocalExecutor((os.cpu_count() or 1) if workers is None else workers)
    if workers is not None:
        raise ConfigError("--workers", "not used with --scheduler: the cluster's workers run "
                                       "the tasks")
    return DaskExecutor(scheduler)
