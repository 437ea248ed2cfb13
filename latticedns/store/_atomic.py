"""Crash-safe file output: refuse bad output paths early, write via a temporary file.

HDF5 files (:func:`atomic_write`) and text files (:func:`atomic_write_text`) alike: the
file is built under a hidden temporary name in the target's directory (same
filesystem), fsynced, then moved onto the target: ``os.link`` without ``force`` (atomic
and never clobbering a file that appeared meanwhile), ``os.replace`` with ``force``; the
directory is then fsynced.  On any exception the temporary file is removed and the
target is untouched.
"""

import os
import secrets
import shutil

import h5py

from ..errors import ConfigError

__all__ = ["check_output_path", "refuse_inputs", "atomic_write", "atomic_write_text",
           "remove_stale_temporaries"]


def check_output_path(path, force=False):
    """Refuse an output path before any computation: existing without force, or no directory.

    Parameters
    ----------
    path : str or os.PathLike
    force : bool
        Allow overwriting an existing file.

    Raises
    ------
    ConfigError
        With key ``"output"``.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ConfigError("output", f"{path} is a directory")
    if os.path.exists(path) and not force:
        raise ConfigError("output", f"{path} exists; pass --force to overwrite it")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ConfigError("output", f"directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ConfigError("output", f"directory {parent} is not writable")


def refuse_inputs(outputs, inputs):
    """Refuse an output that is one of a command's existing input files or directories,
    whatever ``--force`` says (``ConfigError("output", ...)``; links and other spellings of
    the same path included)."""
    for out in filter(None, outputs):
        if not os.path.exists(out):
            continue  # a new file cannot be an existing input
        for path in filter(None, inputs):
            if os.path.exists(path) and os.path.samefile(out, path):
                raise ConfigError("output", f"{out} is an input ({path}); choose another output")


def _fsync_path(path, directory=False):
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    except OSError:
        if not directory:  # some filesystems refuse fsync on directories; files must sync
            raise
    finally:
        os.close(fd)


def atomic_write(path, fill, *, force, base=None):
    """Build an HDF5 file under a temporary name with ``fill(h5file)`` and move it onto path.

    Parameters
    ----------
    path : str
        Target file.
    fill : callable
        Called with the open ``h5py.File`` of the temporary file.
    force : bool
        Replace an existing target (``os.replace``); otherwise ``os.link``, which refuses
        to clobber a target that exists (raising ``ConfigError("output", ...)``).
    base : str, optional
        Start from a copy of this file (opened ``r+``) instead of an empty one.
    """
    def build(tmp):
        if base is not None:
            shutil.copyfile(base, tmp)
            shutil.copymode(base, tmp)
        with h5py.File(tmp, "r+" if base is not None else "x") as f:
            fill(f)

    _commit(path, build, force)


def atomic_write_text(path, text, *, force):
    """Write a text file (UTF-8) the way :func:`atomic_write` writes an HDF5 file.

    Parameters
    ----------
    path : str
    text : str
    force : bool
        Replace an existing target; otherwise refuse it (``ConfigError("output", ...)``).
    """
    def build(tmp):
        with open(tmp, "x", encoding="utf-8", newline="") as fh:
            fh.write(text)

    _commit(path, build, force)


def _commit(path, build, force):
    """``build(tmp)`` under a temporary name beside ``path``, fsync, move onto ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}."
                                  f"{secrets.token_hex(4)}.tmp")
    try:
        build(tmp)
        _fsync_path(tmp)
        if force:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if path exists: never clobbers
            except FileExistsError:
                raise ConfigError("output", f"{path} exists; pass --force to overwrite it") \
                    from None
            except OSError:  # no hard links on this filesystem
                if os.path.exists(path):
                    raise ConfigError("output", f"{path} exists; pass --force to overwrite "
                                                f"it") from None
                os.replace(tmp, path)
            else:
                os.unlink(tmp)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_path(directory, directory=True)


def remove_stale_temporaries(path):
    """Remove the temporaries that killed writers of ``path`` left beside it
    (``.NAME.<pid>.<hex>.tmp``, from :func:`atomic_write`) whose process is gone; returns
    their names.  A temporary of a live process (another writer) is kept."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    prefix = f".{os.path.basename(path)}."
    removed = []
    for name in os.listdir(directory):
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        try:
            os.unlink(os.path.join(directory, name))
            removed.append(name)
        except FileNotFoundError:  # its writer finished meanwhile
            pass
    return removed


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
