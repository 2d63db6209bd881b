"""Where lpa finds its data files and keeps its cache and state.

The folders are plain strings (os.path), so that a command that only reads
the ASN.1 cache does not import pathlib (README, Performance).
"""
from __future__ import annotations

import os

_HERE = os.path.dirname(os.path.realpath(__file__))


def data_dir(name: str) -> str:
    """The folder of bundled data ``name`` ("asn1" or "certs").

    In a source checkout (or an editable install) it is the top-level folder
    of the repository; in a wheel it is installed as the package lpa.data.
    """
    for candidate in (os.path.join(_HERE, "data", name), os.path.join(os.path.dirname(_HERE), name)):
        if os.path.isdir(candidate):
            return candidate
    raise FileNotFoundError(f"lpa data folder {name!r} is missing from the installation")


def cache_dir() -> str:
    """$XDG_CACHE_HOME/lpa (default ~/.cache/lpa)."""
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lpa")


def state_dir() -> str:
    """$XDG_STATE_HOME/lpa (default ~/.local/state/lpa)."""
    return os.path.join(os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "lpa")


def read_regular(path: str | os.PathLike[str], limit: int, what: str) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them; InputError in one line otherwise.

    A FIFO, a device or a socket is refused before anything is read from it (opened without waiting
    for a writer), so that `--qr /dev/zero` or a named pipe nobody writes to cannot hang lpa.
    """
    import stat

    from .errors import InputError

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        info = os.fstat(fd)
        mode, size = info.st_mode, info.st_size
        if not stat.S_ISREG(mode):
            kind = "a directory" if stat.S_ISDIR(mode) else "a named pipe" if stat.S_ISFIFO(mode) \
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"
            raise InputError(f"{path} is {kind}, not {what}; give a regular file")
        if size > limit:
            raise InputError(f"{path} is {size} bytes, larger than {limit} bytes: not {what}")
        with os.fdopen(fd, "rb") as file:
            fd = -1  # the file closes it
            data = file.read(limit + 1)
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limit:
        raise InputError(f"{path} is larger than {limit} bytes: not {what}")
    return data
