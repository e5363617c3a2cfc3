"""One atomic-write protocol: a file or a folder appears whole under its final name, or not at all.

Everything the package writes for users goes through here: the content is written under a hidden
temporary name (``.tmp-*``, which readers and ``pyarrow.dataset`` ignore) in the destination's folder,
flushed and fsynced, then renamed into place with :func:`os.replace` (atomic on one file system), and the
folder is fsynced. A crash or a kill at any instant leaves the previous version or nothing, never half a
file; an existing results folder is never overwritten (:class:`OutputExistsError`).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["TMP_PREFIX", "OutputExistsError", "atomic_write", "atomic_write_bytes", "atomic_write_text", "fsync_dir",
           "publish_folder", "publish_new", "tmp_path", "write_tmp_bytes"]

#: the prefix of every temporary name (hidden: readers, ``pyarrow.dataset`` and DuckDB globs skip it)
TMP_PREFIX = ".tmp-"


class OutputExistsError(FileExistsError):
    """The requested results folder exists already (results are never overwritten)."""


def fsync_dir(folder: Path) -> None:
    """Make the entries of ``folder`` (creations, renames, deletions) durable, where the OS allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open a directory
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def tmp_path(folder: Path, name: str) -> Path:
    """A fresh hidden temporary name for ``name`` in ``folder``."""
    return folder / f"{TMP_PREFIX}{name}-{secrets.token_hex(4)}"


def write_tmp_bytes(tmp: Path, data: bytes) -> None:
    """Create ``tmp`` (it must not exist) with ``data``, flushed and fsynced."""
    with open(tmp, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Fill ``path`` atomically: ``write(fh)`` writes into a new hidden temporary file beside it, which is
    flushed, fsynced and renamed into place; then the folder is fsynced. An exception removes the
    temporary file and leaves ``path`` as it was."""
    path = Path(path)
    tmp = tmp_path(path.parent, path.name)
    try:
        with open(tmp, "xb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """:func:`atomic_write` of ``data``."""
    atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write` of ``text`` in UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


def publish_new(tmp: Path, path: Path) -> bool:
    """Move the finished file ``tmp`` to ``path`` unless ``path`` exists; True if it was published."""
    try:
        os.link(tmp, path)  # atomic and never overwrites
    except FileExistsError:
        return False
    except OSError:  # pragma: no cover - filesystems without hard links
        if path.exists():
            return False
        os.replace(tmp, path)
        return True
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _next_name(path: Path) -> Path:
    """``name-2``, ``name-3``, ... after ``name`` (or after ``name-k``)."""
    m = re.fullmatch(r"(.*)-(\d+)", path.name)
    stem, k = (m.group(1), int(m.group(2))) if m and len(m.group(2)) < 4 else (path.name, 1)
    return path.with_name(f"{stem}-{k + 1}")


def _fsync_tree(root: Path) -> None:
    for dirpath, _, files in os.walk(root):
        for f in files:
            with open(os.path.join(dirpath, f), "rb") as fh:
                os.fsync(fh.fileno())


def publish_folder(out_dir: Path, write: Callable[[Path], None], *, new_name_if_taken: bool = False,
                   hint: str = "choose another folder") -> Path:
    """Create the new folder ``out_dir`` atomically: ``write(tmp)`` fills a hidden temporary folder next
    to it, which is fsynced and moved into place; return the folder's final path.

    The name is claimed with ``mkdir`` just before the move, so a folder that appeared meanwhile, even an
    empty one, is never replaced: :class:`OutputExistsError`, or with ``new_name_if_taken`` the next free
    ``-k`` name. A crash or an exception leaves no visible folder.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not new_name_if_taken:
        raise OutputExistsError(f"{out_dir}: exists already; results are never overwritten ({hint})")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{out_dir.name}-", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the results folder gets the usual permissions
    claimed = False
    try:
        write(tmp)
        _fsync_tree(tmp)
        while not claimed:
            try:
                os.mkdir(out_dir)  # claim the name: fails if it exists, even as an empty folder
                claimed = True
            except FileExistsError:
                if not new_name_if_taken:
                    raise OutputExistsError(f"{out_dir}: exists already; results are never overwritten") from None
                out_dir = _next_name(out_dir)
        os.replace(tmp, out_dir)  # atomic on one filesystem: replaces only the empty folder just claimed
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if claimed:
            try:
                out_dir.rmdir()  # the claimed name, only if still empty
            except OSError:
                pass
        raise
    return out_dir
