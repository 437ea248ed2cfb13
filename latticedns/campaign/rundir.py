"""The per-run directory ``STORE.d/``: one atomically written file per finished run.

This directory is the campaign's source of truth.  A finished run is an HDF5 result file
``run-<hash>.h5`` (written by :func:`latticedns.store.write_runs`: temporary name, fsync,
rename), a failed run a JSON file ``run-<hash>.failed.json`` (same discipline).  A file
exists under its final name only once complete, so a SIGKILL at any moment leaves at most
a hidden ``.*.tmp`` file (here, or beside the store during a rebuild), which is never read
and is removed by the next coordinator once it holds the lock (:meth:`RunDir.lock`).
"""

import fcntl
import hashlib
import json
import os
import secrets

from ..errors import ConfigError
from ..store import read_metadata, write_runs
from ..store._atomic import remove_stale_temporaries

__all__ = ["RunDir", "run_dir_of"]


def run_dir_of(store_path):
    """The per-run directory of a store: ``STORE.d`` next to it."""
    return os.fspath(store_path) + ".d"


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse
        pass
    finally:
        os.close(fd)


class RunDir:
    """Read and write the finished runs of one campaign store.

    Parameters
    ----------
    path : str
        The directory (created by :meth:`create`).
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self._lock = None

    def create(self):
        """Create the directory if needed (nothing is removed: see :meth:`lock`)."""
        os.makedirs(self.path, exist_ok=True)

    def lock(self, store=None):
        """Take an exclusive lock (one coordinator per store; ConfigError if held), then
        remove the temporaries that killed coordinators left: ``.*.tmp`` in the directory
        and, with ``store``, the store's own ``.STORE.<pid>.*.tmp`` of dead processes
        beside it.  Only the lock
        holder cleans, so a second coordinator never deletes the first one's files."""
        fh = open(os.path.join(self.path, ".lock"), "a")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise ConfigError("output", f"another campaign is writing {self.path}") from None
        self._lock = fh
        for name in os.listdir(self.path):
            if name.startswith(".") and name.endswith(".tmp"):
                os.unlink(os.path.join(self.path, name))
        if store is not None:
            remove_stale_temporaries(store)

    def unlock(self):
        """Release the lock taken by :meth:`lock`."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _file(self, run_id, suffix):
        digest = hashlib.sha1(run_id.encode()).hexdigest()[:16]
        return os.path.join(self.path, f"run-{digest}{suffix}")

    def write_done(self, record, info):
        """Store a finished run atomically; ``info`` (JSON dict) goes in its metadata."""
        path = self._file(record.name, ".h5")
        write_runs(path, [record], force=True, metadata={"campaign_run": info})
        failed = self._file(record.name, ".failed.json")
        if os.path.exists(failed):
            os.unlink(failed)
        return path

    def write_failed(self, info):
        """Store the failure of a run (``info`` with ``run_id`` and ``error``) atomically."""
        path = self._file(info["run_id"], ".failed.json")
        tmp = os.path.join(self.path, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
        with open(tmp, "w") as fh:
            json.dump(info, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(self.path)
        return path

    def remove(self, run_id):
        """Delete every file of a run (used with ``force`` for runs that changed)."""
        for suffix in (".h5", ".failed.json"):
            path = self._file(run_id, suffix)
            if os.path.exists(path):
                os.unlink(path)

    def scan(self):
        """Every run with a file: ``run_id -> info`` (with ``status``, ``file``).

        A finished run wins over a failure of the same id.  Unreadable files (which atomic
        writes never produce) are skipped.
        """
        out = {}
        if not os.path.isdir(self.path):
            return out
        for name in sorted(os.listdir(self.path)):
            if name.startswith(".") or not name.startswith("run-"):
                continue
            full = os.path.join(self.path, name)
            try:
                if name.endswith(".failed.json"):
                    with open(full) as fh:
                        info = dict(json.load(fh), status="failed", file=full)
                elif name.endswith(".h5"):
                    meta = read_metadata(full)["metadata"]["campaign_run"]
                    info = dict(meta, status="done", file=full)
                else:
                    continue
            except (OSError, ValueError, KeyError):
                continue
            if out.get(info["run_id"], {}).get("status") != "done":
                out[info["run_id"]] = info
        return out
