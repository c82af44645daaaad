"""Uploaded files: kept in a private temporary folder under their own (sanitised) name for the one library call,
since the library's messages name the file, and deleted afterwards."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from starlette.datastructures import UploadFile

from ..config import import_limits
from ..errors import ConfigError

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_name(name: str | None, default: str) -> str:
    """The upload's base name with anything but letters, digits, '.', '_', '-' and spaces replaced."""
    base = Path((name or "").replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).strip(" .")
    return base[:120] or default


@contextmanager
def saved(uploads: dict[str, UploadFile]) -> Iterator[dict[str, Path]]:
    """Each upload written to a private temporary folder, as ``{field: path}``; the folder is removed after."""
    limit = import_limits().max_bytes
    with tempfile.TemporaryDirectory(prefix="placement-upload-") as folder:
        paths = {}
        for field, upload in uploads.items():
            # One folder per field, so the file keeps its own name (the library's messages name it).
            (Path(folder) / field).mkdir(mode=0o700)
            path = Path(folder) / field / safe_name(upload.filename, field)
            size = 0
            with path.open("wb") as out:
                while chunk := upload.file.read(1 << 20):
                    size += len(chunk)
                    if size > limit:
                        raise ConfigError(
                            f"{safe_name(upload.filename, field)} is larger than {limit:,} bytes.",
                            "Split the file, or raise PLACEMENT_MAX_IMPORT_BYTES on the server.",
                        )
                    out.write(chunk)
            paths[field] = path
        yield paths


def upload_of(form, field: str) -> UploadFile | None:
    value = form.get(field)
    if isinstance(value, UploadFile) and value.filename:
        return value
    return None


# ----------------------------------------------------------------------------- staged uploads (check, then import)

STAGING_HOURS = 2


def staging_root() -> Path:
    import os

    root = Path(tempfile.gettempdir()) / f"placement-staging-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    root.chmod(0o700)
    return root


def stage(uploads: dict[str, UploadFile]) -> tuple[str, dict[str, Path]]:
    """Keep uploads for the import that follows a successful check: a random token names a private folder."""
    import secrets
    import shutil
    import time

    root = staging_root()
    for old in root.iterdir():  # forget what was checked and never imported
        if old.stat().st_mtime < time.time() - STAGING_HOURS * 3600:
            shutil.rmtree(old, ignore_errors=True)
    token = secrets.token_urlsafe(16)
    folder = root / token
    folder.mkdir(mode=0o700)
    with saved(uploads) as paths:
        kept = {}
        for field, path in paths.items():
            (folder / field).mkdir(mode=0o700)
            target = folder / field / path.name
            shutil.copyfile(path, target)
            target.chmod(0o600)
            kept[field] = target
    return token, kept


def staged(token: str) -> dict[str, Path] | None:
    """The files kept under ``token`` as ``{field: path}``, or None (unknown, expired, or a forged token)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,40}", token or ""):
        return None
    folder = staging_root() / token
    if not folder.is_dir():
        return None
    return {sub.name: next(sub.iterdir()) for sub in folder.iterdir() if sub.is_dir() and any(sub.iterdir())}


def unstage(token: str) -> None:
    import shutil

    if re.fullmatch(r"[A-Za-z0-9_-]{16,40}", token or ""):
        shutil.rmtree(staging_root() / token, ignore_errors=True)
