"""File paths read from data files (training tables, benchmark annotations) stay under their root.

An annotation file names images relative to a folder. A path that is absolute or climbs out with ``..``
would make the loader read any file the process can read (``/etc/shadow``, ``/dev/zero``, a FIFO), so it is
refused. Training tables count such rows as ``path_outside_root`` (``allow_paths_outside_root`` reads
them); benchmark adapters skip such items as malformed (``evaluation.adapters.base.data_path``). The check
is on the path as written
(lexical): symbolic links inside the root, e.g. an image folder linked from another disk, keep working.
"""

from __future__ import annotations

import ntpath
import os
import posixpath


class PathOutsideRoot(ValueError):
    """A path from a data file that is absolute or leaves its root."""


def join_under(root: str, relative: str, *, allow_outside: bool = False) -> str:
    """``root/relative`` for a ``relative`` path read from a data file (``root`` may be a URL).

    Raises:
        PathOutsideRoot: ``relative`` is absolute or leaves ``root`` through ``..``, unless
            ``allow_outside`` (then an absolute path is taken as it is).
    """
    remote = "://" in root
    module = posixpath if remote else os.path
    absolute = module.isabs(relative) or bool(ntpath.splitdrive(relative)[0])
    if allow_outside:
        return relative if absolute else module.join(root, relative)
    if absolute:
        raise PathOutsideRoot(f"{relative!r} is an absolute path, not one relative to {root or 'its folder'!r}")
    parts = posixpath.normpath(relative.replace("\\", "/")).split("/")
    if parts[0] == "..":
        raise PathOutsideRoot(f"{relative!r} leaves {root or 'its folder'!r} through '..'")
    return module.join(root, relative) if root else relative


def apply_umask(*paths: str | os.PathLike) -> None:
    """Give each of ``paths``, and everything under those that are folders, the mode a newly created file
    or folder gets here (0666 or 0777, less the umask).

    safetensors writes its files with mode 0600 and ``tempfile.mkdtemp`` makes folders 0700, whatever the
    umask: a release or checkpoint copied to shared storage could then not be read by others, while every
    other file of it could.
    """
    mask = os.umask(0)
    os.umask(mask)
    for top in paths:
        tops = os.walk(top) if os.path.isdir(top) else [(os.path.dirname(top) or ".", [], [os.path.basename(top)])]
        for directory, _, names in tops:
            if os.path.isdir(top):
                os.chmod(directory, 0o777 & ~mask)
            for name in names:
                path = os.path.join(directory, name)
                if os.path.isfile(path) and not os.path.islink(path):
                    os.chmod(path, 0o666 & ~mask)
