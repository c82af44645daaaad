"""Writing files that may hold personal data: owner-only, atomic, never through a link or onto a device.

Every file placement writes (exports, audit reports) goes through
:func:`atomic_write`:

- the target must be a regular file or not exist yet: a folder, a device
  (``--out /dev/sda``), a FIFO or a symbolic link is refused before anything
  is written;
- the data goes to a temporary file created next to the target with
  ``tempfile.mkstemp`` (``O_CREAT | O_EXCL | O_NOFOLLOW``, so a planted link
  cannot redirect it), then replaces the target in one ``os.replace``: a
  half-written file never takes the target's name, and an interrupted write
  leaves no temporary file behind;
- its mode is set explicitly (``fchmod``), whatever the umask and whatever the
  mode of a file it replaces: 0600 for anything holding personal data;
- folders it creates are 0700.

Operating-system failures (disk full, no permission, a missing or read-only
folder) become a :class:`~placement.errors.ConfigError` that says what
happened and what to do.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from .errors import ConfigError

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
PUBLIC_FILE = 0o644


def make_private_folders(folder: Path) -> None:
    """Create ``folder`` and any missing parents as 0700 (existing folders are left as they are)."""
    missing = []
    for parent in [folder, *folder.parents]:
        if parent.exists():
            break
        missing.append(parent)
    for path in reversed(missing):
        try:
            path.mkdir(mode=PRIVATE_FOLDER)
        except FileExistsError:
            continue
        os.chmod(path, PRIVATE_FOLDER)  # mkdir's mode is filtered by the umask; this is not


def check_target(path: Path) -> None:
    """Refuse a target that exists and is not a regular file (folder, device, FIFO, socket, symbolic link)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise os_error(exc, path) from None
    if stat.S_ISREG(st.st_mode):
        return
    kind = (
        "a folder"
        if stat.S_ISDIR(st.st_mode)
        else "a symbolic link"
        if stat.S_ISLNK(st.st_mode)
        else "a device or another special file"
    )
    raise ConfigError(
        f"{path} is {kind}, not a regular file; nothing was written.",
        "Give the name of a new file, or of a file placement wrote before (--out FILE).",
    )


def os_error(exc: OSError, path: Path) -> ConfigError:
    """An operating system error while writing ``path``, in words that say what to do."""
    folder = path.parent
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        what, fix = "the disk is full", f"Free some space on the disk holding {folder}, or write elsewhere with --out."
    elif exc.errno in (errno.EACCES, errno.EPERM):
        what, fix = f"you may not write in {folder}", "Choose a folder you can write to with --out, or ask for access."
    elif exc.errno == errno.EROFS:
        what, fix = f"{folder} is on a read-only disk", "Choose another folder with --out."
    elif exc.errno in (errno.ENOENT, errno.ENOTDIR):
        what, fix = (
            f"the folder {folder} does not exist (or is not a folder)",
            "Create it, or choose another with --out.",
        )
    else:
        what, fix = exc.strerror or str(exc), "Check the path and the disk, or choose another place with --out."
    return ConfigError(f"Cannot write {path}: {what}. Nothing was written.", fix)


def sync(fh: BinaryIO) -> None:
    """Flush ``fh`` to the disk now (inside ``atomic_write``: before committing what records the file)."""
    fh.flush()
    os.fsync(fh.fileno())


@contextmanager
def atomic_write(path: Path, *, private: bool = True) -> Iterator[BinaryIO]:
    """Yield a binary file; when the block ends without error it replaces ``path`` whole (0600 if ``private``).

    Call :func:`sync` inside the block before committing a log entry about the
    file, so that a full disk fails the write before the entry is committed.

    On any error (in the block, or while writing) the temporary file is
    removed and ``path`` is left as it was.
    """
    path = Path(path)
    check_target(path)
    tmp: str | None = None
    try:
        make_private_folders(path.parent) if private else path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.fchmod(fd, PRIVATE_FILE if private else PUBLIC_FILE)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            sync(fh)
        check_target(path)  # still not replaced by a link or a device while we wrote
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise os_error(exc, path) from None
    finally:
        if tmp is not None:
            with suppress(OSError):
                os.unlink(tmp)
