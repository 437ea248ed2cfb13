"""What this process may use of the machine: memory and threads (read, never changed).

Examples
--------
>>> memory_budget_bytes() > 0 and threads() >= 1
True
"""

import os

__all__ = ["memory_budget_bytes", "threads"]


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
