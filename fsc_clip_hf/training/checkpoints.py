"""Checkpoint folders that are whole: the completion marker, its verification, and rotation.

A checkpoint counts as written only once its marker follows every file in it, each synced to disk. The
marker lists each file's size and SHA-256, so a checkpoint damaged after it was written (a truncated copy,
a full disk, bit rot) is recognised before loading, named file by file, and passed over for the previous
one. Rotation (``save_total_limit``) counts and deletes only after the marker is written, so a kill at any
moment leaves at least one complete checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil

logger = logging.getLogger(__name__)

COMPLETE_MARKER = "checkpoint_complete"
_CHECKPOINT = re.compile(r"checkpoint-(\d+)")
_CHUNK = 8 << 20


class DamagedCheckpoint(ValueError):
    """A checkpoint folder that is incomplete or whose files do not match its marker."""


def _files(folder: str) -> list[str]:
    """Every file under ``folder`` but the marker, as sorted relative paths."""
    found = []
    for directory, _, names in os.walk(folder):
        for name in names:
            relative = os.path.relpath(os.path.join(directory, name), folder)
            if relative not in (COMPLETE_MARKER, COMPLETE_MARKER + ".tmp"):
                found.append(relative)
    return sorted(found)


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_directory(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_marker(folder: str, step: int) -> None:
    """Sync every file of ``folder`` to disk, then write the marker (sizes and checksums) atomically."""
    files = {}
    for relative in _files(folder):
        path = os.path.join(folder, relative)
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
        files[relative] = {"size": os.path.getsize(path), "sha256": _sha256(path)}
    for directory, _, _ in os.walk(folder, topdown=False):
        _fsync_directory(directory)
    temporary = os.path.join(folder, COMPLETE_MARKER + ".tmp")
    with open(temporary, "w") as handle:
        json.dump({"step": step, "files": files}, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, os.path.join(folder, COMPLETE_MARKER))
    _fsync_directory(folder)


def is_marked(folder: str) -> bool:
    return os.path.isfile(os.path.join(folder, COMPLETE_MARKER))


def verify_checkpoint(folder: str) -> None:
    """Check ``folder`` against its marker.

    Raises:
        DamagedCheckpoint: no marker (written only in part), an unreadable marker, or a file that is
            missing, of another size or of another checksum than when it was written; the message names it.
    """
    marker = os.path.join(folder, COMPLETE_MARKER)
    if not os.path.isfile(marker):
        raise DamagedCheckpoint(f"{folder}: not written to the end (no {COMPLETE_MARKER}; the run was interrupted "
                                "while saving)")
    try:
        with open(marker) as handle:
            files = json.load(handle)["files"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DamagedCheckpoint(f"{marker}: unreadable ({err})") from err
    for relative, expected in files.items():
        path = os.path.join(folder, relative)
        if not os.path.isfile(path):
            raise DamagedCheckpoint(f"{path}: missing")
        size = os.path.getsize(path)
        if size != expected["size"]:
            raise DamagedCheckpoint(f"{path}: {size} bytes, {expected['size']} when written (truncated or replaced)")
        if _sha256(path) != expected["sha256"]:
            raise DamagedCheckpoint(f"{path}: its content changed since it was written (checksum differs)")


def checkpoint_folders(output_dir: str) -> list[tuple[int, str]]:
    """``(step, path)`` of every ``checkpoint-N`` folder of ``output_dir``, by step."""
    if not os.path.isdir(output_dir):
        return []
    return sorted((int(match.group(1)), os.path.join(output_dir, name)) for name in os.listdir(output_dir)
                  if (match := _CHECKPOINT.fullmatch(name)) and os.path.isdir(os.path.join(output_dir, name)))


def latest_complete_checkpoint(output_dir: str) -> str | None:
    """The newest checkpoint that is complete and intact; partial or damaged ones are passed over, each
    named with the reason, for the one before."""
    for _, path in reversed(checkpoint_folders(output_dir)):
        try:
            verify_checkpoint(path)
        except DamagedCheckpoint as err:
            (logger.error if is_marked(path) else logger.warning)("skipping checkpoint: %s", err)
            continue
        return path
    return None


def rotate_checkpoints(output_dir: str, limit: int | None, keep: str | None = None) -> None:
    """Keep the newest ``limit`` complete checkpoints (and ``keep``, the best one); delete the older complete
    ones, and the partial folders older than the newest complete one (leftovers of interrupted saves)."""
    if not limit or limit <= 0:
        return
    folders = checkpoint_folders(output_dir)
    complete = [path for _, path in folders if is_marked(path)]
    if not complete:
        return
    kept = {os.path.abspath(path) for path in complete[-limit:]} | ({os.path.abspath(keep)} if keep else set())
    newest = next(step for step, path in folders if path == complete[-1])
    for step, path in folders:
        if os.path.abspath(path) in kept or step >= newest:
            continue
        logger.info("deleting checkpoint %s (save_total_limit=%d)", path, limit)
        shutil.rmtree(path, ignore_errors=True)
