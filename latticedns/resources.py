"""What this process may use of the machine: memory and threads.

Memory and the thread count are only read; :func:`single_threaded_openblas` limits
OpenBLAS's threads for the duration of a block (optional ``threadpoolctl``).

Examples
--------
>>> memory_budget_bytes() > 0 and threads() >= 1
True
"""

import contextlib
import os

__all__ = ["THREAD_VARIABLES", "memory_budget_bytes", "threads", "single_threaded_openblas",
           "single_threaded_children"]

#: Thread-count variables set to "1" in worker processes (unless already set by the user):
#: one BLAS thread per worker, whatever the number of workers, so results do not depend on
#: it and two workers do not oversubscribe the cores.  A dask nanny sets the same three
#: variables to 1 in the workers it starts (``distributed.nanny.pre-spawn-environ``).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def memory_budget_bytes() -> int:
    """Memory a run may use, in bytes: 80 % of the memory available now (``/proc/meminfo``,
    else 80 % of the physical memory)."""
    try:
        with open("/proc/meminfo") as fh:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in fh}
        avail = info.get("MemAvailable", info.get("MemTotal"))
    except (OSError, ValueError, IndexError):
        avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(0.8 * avail)


def threads() -> int:
    """Threads a run may use: ``OMP_NUM_THREADS`` if set (campaign workers set 1), else the
    cores this process may run on."""
    try:
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    except (KeyError, ValueError):
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def single_threaded_openblas():
    """A context in which OpenBLAS (numpy's and scipy's BLAS) runs on one thread.

    For blocks whose heavy work is threaded elsewhere (MKL PARDISO's solves) and whose own
    BLAS calls are small (Krylov vectors): OpenBLAS's idle threads spin and take the cores
    from MKL's (measured on the README microwave-on job, KMP_BLOCKTIME=1 in both: 259
    solves 0.83-0.85 -> 0.63-0.68 s, the Lanczos bookkeeping 0.11-0.12 -> 0.10-0.12 s).  MKL itself is not limited.  Without ``threadpoolctl``
    (optional extra ``latticedns[fast]``) nothing is changed.
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController  # optional
            _CONTROLLER = ThreadpoolController().select(internal_api="openblas")
        except Exception:  # noqa: BLE001 - not installed or not introspectable
            _CONTROLLER = False
    if not _CONTROLLER or not _CONTROLLER.lib_controllers:
        return contextlib.nullcontext()
    return _CONTROLLER.limit(limits=1)


_CONTROLLER = None


@contextlib.contextmanager
def single_threaded_children():
    """A context in which processes started (spawned) inherit :data:`THREAD_VARIABLES` = 1
    (each left as the user set it, if set); the environment is restored on exit."""
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
