"""The seeds of a lattice fit simulated in parallel: one long-lived process per share.

A lattice fit simulates the same samples (``fit.seeds``) at every evaluation.  The seeds are
dealt round-robin to ``n`` worker processes (spawned, one BLAS/OpenMP thread each, as the
campaign's workers); each keeps its own model cache for the whole fit, so its samples and
pair patterns are built once and only the values change between evaluations.  Every
evaluation sends the parameter values to all workers and gathers their curves in
``spec.seeds`` order, so the seed mean is the same bits for any number of workers.

Examples
--------
>>> from latticedns.fit.workers import deal
>>> deal((11, 12, 13, 14, 15), 2)
[(11, 13, 15), (12, 14)]
"""

from __future__ import annotations

import multiprocessing
import traceback

from ..errors import ConfigError
from ..resources import single_threaded_children
from .simulate import curves_at

__all__ = ["SeedWorkers", "WorkerDied", "deal"]


class WorkerDied(RuntimeError):
    """A seed worker process ended during a fit (killed, or out of memory)."""


def deal(seeds, n):
    """The seeds of each of ``n`` workers, dealt round-robin (tuple per worker)."""
    n = max(1, min(int(n), len(seeds)))
    return [tuple(seeds[k::n]) for k in range(n)]


def _serve(conn, spec, seeds):
    """Worker loop: for every values message, the curves of each of its seeds."""
    models = {}
    while True:
        try:
            values = conn.recv()
        except (EOFError, KeyboardInterrupt):  # the fit's process went away, or Ctrl-C
            return
        if values is None:
            return
        try:
            conn.send(("ok", [curves_at(spec, values, s, models) for s in seeds]))
        except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the fit stops
            return
        except ConfigError as exc:
            conn.send(("config", exc.key, exc.message))
        except Exception as exc:  # noqa: BLE001 - reported by the coordinator
            conn.send(("error", traceback.format_exception_only(type(exc), exc)[-1].strip()))


class SeedWorkers:
    """Worker processes simulating a fit's seeds (module docstring).

    Parameters
    ----------
    spec : latticedns.fit.FitSpec
        A lattice fit spec with at least one seed.
    n_workers : int
        Processes to start (at most one per seed).

    Use as a context manager, or call :meth:`close`; the processes are daemons, so they
    end with the fit's process in any case.
    """

    def __init__(self, spec, n_workers):
        if int(n_workers) < 1:
            raise ConfigError("--workers", f"must be >= 1, got {n_workers}")
        self.shares = deal(tuple(spec.seeds), n_workers)
        ctx = multiprocessing.get_context("spawn")
        self._procs, self._conns, self._share_of = [], [], {}
        try:
            with single_threaded_children():
                for share in self.shares:
                    ours, theirs = ctx.Pipe()
                    proc = ctx.Process(target=_serve, args=(theirs, spec, share), daemon=True,
                                       name=f"latticedns-fit-seeds-{'-'.join(map(str, share))}")
                    proc.start()
                    theirs.close()
                    self._procs.append(proc)
                    self._conns.append(ours)
                    self._share_of[proc.name] = share
        except BaseException:
            self.close()
            raise
        self._order = [s for share in self.shares for s in share]
        self._index = {s: k for k, s in enumerate(self._order)}
        self.seeds = tuple(spec.seeds)

    @property
    def n_workers(self):
        return len(self._procs)

    def curves(self, values):
        """The curves of every seed at ``values``: a list in ``spec.seeds`` order, each a
        list of arrays (:func:`latticedns.fit.simulate.curves_at`)."""
        values = [float(v) for v in values]
        for conn, proc in zip(self._conns, self._procs):
            try:
                conn.send(values)
            except (BrokenPipeError, OSError):
                raise WorkerDied(self._died(proc)) from None
        gathered, failure = [], None
        for conn, proc in zip(self._conns, self._procs):
            try:
                reply = conn.recv()
            except (EOFError, OSError):
                raise WorkerDied(self._died(proc)) from None
            if reply[0] == "ok":
                gathered.extend(reply[1])
            elif failure is None:
                failure = reply
        if failure is not None:  # every worker has answered: the pipes stay in step
            if failure[0] == "config":
                raise ConfigError(failure[1], failure[2])
            raise RuntimeError(f"a seed worker failed: {failure[1]}")
        return [gathered[self._index[s]] for s in self.seeds]

    def _died(self, proc):
        proc.join(timeout=5)
        seeds = ", ".join(map(str, self._share_of[proc.name]))
        return (f"the worker process simulating seeds {seeds} ended "
                f"(exit code {proc.exitcode}: killed, or out of memory); the fit is stopped")

    def close(self, cancel=False):
        """Stop the workers (idempotent); ``cancel``: at once, even in the middle of a
        simulation (the fit failed or was interrupted)."""
        for conn in self._conns:
            try:
                conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for proc in self._procs:
            if cancel:
                proc.terminate()
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        for conn in self._conns:
            conn.close()
        self._procs, self._conns = [], []

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        self.close(cancel=kind is not None)
