"""Files: written atomically (a reader sees the old file or the new one, never half of one),
fingerprinted (contents and the versions of the packages that made them), and shared by a hard
link where the same bytes are needed in two places."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from importlib import metadata
from pathlib import Path

import cachetools


def write_atomic(path: Path, text: str | bytes) -> Path:
    """Write ``text`` (or bytes) to ``path`` through a temporary file beside it, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(text.encode("utf-8") if isinstance(text, str) else text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return path


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex.

    Kept for the file as it stands (its device, inode, size and modification time), so a file
    asked about again unchanged, or through another hard link, is not read again: an index build
    asks about the model export it embeds with (90 MB) more than once.
    """
    found = os.stat(path)
    return _sha256((found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns), os.fspath(path))


@cachetools.cached(cachetools.LRUCache(maxsize=256), key=lambda stat, path: stat, lock=threading.Lock())
def _sha256(stat: tuple[int, int, int, int], path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def link_or_copy(source: Path, target: Path) -> None:
    """Put ``source``'s bytes at ``target``: a hard link where the file system allows one (no copy,
    no second 90 MB on disk for each index's model export), else a copy.

    Only for files that are replaced, never written in place, as every file egov-qa writes is:
    the two names then never disagree, and removing one leaves the other whole.
    """
    try:
        os.link(source, target)
    except OSError:  # another file system, one without links, a link refused (protected_hardlinks)
        shutil.copyfile(source, target)


def package_version(package: str) -> str | None:
    """The installed version of ``package``, or None."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
