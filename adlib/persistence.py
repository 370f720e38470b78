"""Crash-safe save folders: a save is written into a fresh sibling folder and swapped into place.

A failure at any point (an exception, a full disk, a killed process) leaves the previous save, or
nothing, exactly as it was. A folder that adlib did not write is never replaced, and every file a
save wrote is recorded with its size and SHA-256, so a truncated or altered file is named on load.
"""
from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import secrets
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

CONFIG_FILE = "detector.json"
_TMP_TAG, _OLD_TAG = ".adlib-tmp-", ".adlib-old-"
# Files that saves of format 1 (before manifests) wrote; a folder holding only these is an adlib save.
_FORMAT_1_FILES = {CONFIG_FILE, "model.keras", "train.npz"}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files_below(folder: Path) -> list[str]:
    """Every regular file below ``folder``, as sorted POSIX paths relative to it."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def manifest_of(folder: Path) -> dict[str, dict]:
    """``{relative path: {"size": bytes, "sha256": hex}}`` for every file below ``folder``."""
    return {name: {"size": (folder / name).stat().st_size, "sha256": sha256_of(folder / name)}
            for name in _files_below(folder)}


def content_checksum(meta: dict) -> str:
    """SHA-256 of ``meta`` (without its own ``checksum``) in canonical JSON: detects any edit of detector.json."""
    body = {k: v for k, v in meta.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def verify_manifest(folder: Path, files: dict) -> None:
    """Raise ``ValueError`` naming the first file of the manifest that is missing, truncated or changed."""
    if not isinstance(files, dict):
        raise ValueError(f"{folder / CONFIG_FILE} is corrupt: its file list is not a mapping; save the detector again.")
    for name, expected in sorted(files.items()):
        target = folder / name
        try:
            size, digest = int(expected["size"]), str(expected["sha256"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{folder / CONFIG_FILE} is corrupt: bad entry for {name} ({exc}).") from exc
        if not target.is_file():
            raise ValueError(f"{target} is missing: the save in {folder} is incomplete; save the detector again.")
        actual = target.stat().st_size
        if actual < size:
            raise ValueError(f"{target} is truncated ({actual} of {size} bytes); save the detector again.")
        if actual != size or sha256_of(target) != digest:
            raise ValueError(f"{target} has changed since it was saved (size or SHA-256 differs from "
                             f"{CONFIG_FILE}); it is corrupt or was edited. Save the detector again.")


def read_meta(folder: Path) -> dict | None:
    """The parsed ``detector.json`` of ``folder`` if it is one of adlib's, else ``None``."""
    try:
        meta = json.loads((folder / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return None
    if isinstance(meta, dict) and {"format_version", "class", "config"} <= meta.keys():
        return meta
    return None


def _foreign_files(folder: Path) -> list[str]:
    """Files in ``folder`` that no adlib save wrote (all of them, if it is not an adlib save)."""
    present = _files_below(folder)
    meta = read_meta(folder)
    if meta is None:
        return present
    ours = set(meta.get("files") or {}) | {CONFIG_FILE} if "files" in meta else _FORMAT_1_FILES
    return [name for name in present if name not in ours]


def check_target(path: Path) -> None:
    """Refuse to save over a file, or over a folder holding anything that adlib did not write."""
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} is a file; save() writes a folder. Choose a new folder name.")
    if path.is_dir():
        foreign = _foreign_files(path)
        if foreign and (path / CONFIG_FILE).is_file() and read_meta(path) is None:
            raise FileExistsError(
                f"{path} holds a {CONFIG_FILE} that is not a readable adlib save, so adlib cannot tell which "
                "files it wrote there and refuses to replace the folder. Save elsewhere, or delete the "
                "folder yourself if everything in it is yours to lose.")
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise FileExistsError(
                f"{path} exists and holds files that are not part of an adlib save ({shown}); save() "
                "replaces the whole folder, so it refuses. Save into a new or empty folder, or into an "
                "earlier adlib save (which is overwritten).")


def _fsync(path: Path) -> None:
    """Flush a file or folder to disk (folders cannot be opened this way on Windows: skipped there)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); ``False`` where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EPERM):
        return False  # this file system cannot exchange: fall back to two renames
    raise OSError(err, os.strerror(err), str(b))


def _sibling(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}{tag}{os.getpid()}-{secrets.token_hex(4)}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def recover_interrupted(path: Path, *, tidy: bool = True) -> None:
    """Recover from a save that was killed: put back a previous save moved aside (non-Linux
    fallback only) and, with ``tidy``, remove temporary folders of processes that no longer run.
    Loading passes ``tidy=False``: a read restores what it must and deletes nothing."""
    if not path.parent.is_dir():
        return
    for sibling in sorted(path.parent.glob(f".{path.name}.adlib-*")):
        tag = _OLD_TAG if _OLD_TAG in sibling.name else _TMP_TAG if _TMP_TAG in sibling.name else None
        if tag is None:
            continue
        try:
            pid = int(sibling.name.split(tag, 1)[1].split("-", 1)[0])
        except ValueError:
            continue
        if _pid_alive(pid) and pid != os.getpid():
            continue
        if tag == _OLD_TAG and not path.exists():
            os.rename(sibling, path)
        elif tidy:
            shutil.rmtree(sibling, ignore_errors=True)


def atomic_write_folder(path: Path, write: Callable[[Path], dict]) -> Path:
    """Create the folder ``path`` by ``write(tmp)`` into a fresh sibling, then swap it into place.

    ``write`` fills the temporary folder and returns the metadata for ``detector.json``; the
    manifest and checksum are added here. The folder at ``path`` (an earlier save) is kept until the
    swap has succeeded; on any failure the temporary folder is removed and ``path`` is untouched.
    """
    path = path.expanduser()
    if path.is_symlink():
        path = path.resolve()
    path = path.absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted(path)
    check_target(path)
    tmp = _sibling(path, _TMP_TAG)
    tmp.mkdir()
    try:
        meta = write(tmp)
        meta["files"] = manifest_of(tmp)
        meta["checksum"] = content_checksum(meta)
        with open(tmp / CONFIG_FILE, "w") as f:
            json.dump(meta, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        for name in meta["files"]:
            _fsync(tmp / name)
        _fsync(tmp)
        _swap_into_place(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _fsync(path.parent)
    return path


def _swap_into_place(tmp: Path, path: Path) -> None:
    """Make ``tmp`` become ``path``; the earlier ``path``, if any, is deleted only afterwards."""
    if not path.exists():
        os.rename(tmp, path)
    elif _exchange(tmp, path):
        shutil.rmtree(tmp)  # tmp now holds the earlier save
    else:
        old = _sibling(path, _OLD_TAG)
        os.rename(path, old)
        try:
            os.rename(tmp, path)
        except BaseException:
            os.rename(old, path)
            raise
        shutil.rmtree(old, ignore_errors=True)
