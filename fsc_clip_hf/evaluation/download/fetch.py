"""Moving bytes: resumable, checked HTTP downloads, archive unpacking, and the Hub.

* :func:`http_download` writes ``<file>.part`` and resumes it with an HTTP ``Range`` request when a
  previous attempt was cut; the file takes its final name only once its length matches what the
  server announced and its checksum (when one is known) matches. A web page served in place of a file
  (a login or confirmation page) is refused.
* :func:`unpack` extracts a zip or tar archive into the folder the layout wants: an archive with one
  top-level folder has that folder's contents placed there, an archive of loose files has them placed
  there. Members that would land outside the folder (absolute paths, ``..``, links) are refused.
  Extraction happens in a temporary folder beside the target and is moved in at the end, so an
  interrupted unpack leaves no half-filled layout.
* Checksums are ``sha256:<hex>`` or ``git-blob:<sha1>`` (a file of a GitHub repository at a pinned
  commit: the blob id ``git ls-tree`` shows, ``sha1(b"blob <size>\\0" + content)``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

CHUNK = 1 << 20
USER_AGENT = "fsc-clip-hf-downloader"
IGNORED_TOP_LEVEL = ("__MACOSX",)


class DownloadError(Exception):
    """A download or unpack that did not complete; the message says what happened."""


def file_checksum(path: Path, kind: str) -> str:
    """``kind:<hex>`` of the file (``sha256`` or ``git-blob``)."""
    if kind == "sha256":
        digest = hashlib.sha256()
    elif kind == "git-blob":
        digest = hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    else:
        raise ValueError(f"unknown checksum kind {kind!r}")
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return f"{kind}:{digest.hexdigest()}"


def verify(path: Path, checksum: str | None) -> None:
    if checksum is None:
        return
    found = file_checksum(path, checksum.split(":", 1)[0])
    if found != checksum:
        raise DownloadError(f"{path.name}: checksum {found} where {checksum} was expected (a changed or corrupt "
                            "file; it was deleted)")


def http_download(url: str, dest: Path, *, checksum: str | None = None, rewrite: Callable[[str], str] = str,
                  timeout: float = 60.0, progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` (resuming ``dest.part``), check it, and return ``dest``.

    ``rewrite`` maps the URL before the request (tests point every host at a local server).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT, **({"Range": f"bytes={start}-"} if start else {})}
    try:
        response = urlopen(Request(rewrite(url), headers=headers), timeout=timeout)
    except HTTPError as error:
        if error.code == 416 and start:  # nothing left to send: the part is whole
            return _finish(part, dest, checksum)
        raise DownloadError(f"{url}: HTTP {error.code} {error.reason}") from None
    except (URLError, OSError) as error:
        raise DownloadError(f"{url}: {getattr(error, 'reason', error)}") from None
    with response:
        if start and response.status != 206:
            start = 0  # the server ignored the range: start over
        if "text/html" in response.headers.get("Content-Type", "") and not url.endswith((".html", ".htm")):
            raise DownloadError(f"{url}: the server sent a web page instead of the file (a login, consent or "
                                "confirmation page)")
        length = response.headers.get("Content-Length")
        total = start + int(length) if length is not None else None
        with open(part, "ab" if start else "wb") as handle, _bar(dest.name, total, start, progress) as bar:
            try:
                for block in iter(lambda: response.read(CHUNK), b""):
                    handle.write(block)
                    bar.update(len(block))
            except (OSError, ValueError) as error:
                raise DownloadError(f"{url}: cut after {handle.tell()} bytes ({error}); run again to resume") from None
    size = part.stat().st_size
    if total is not None and size != total:
        raise DownloadError(f"{url}: {size} of {total} bytes arrived; run again to resume")
    return _finish(part, dest, checksum)


def _finish(part: Path, dest: Path, checksum: str | None) -> Path:
    try:
        verify(part, checksum)
    except DownloadError:
        part.unlink()
        raise
    os.replace(part, dest)
    return dest


def _bar(name: str, total: int | None, initial: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, desc=name, disable=not enabled,
                leave=False)


# ---------------------------------------------------------------------------------------------
# Archives


def unpack(archive: Path, target: Path) -> Path:
    """Extract ``archive`` (zip, tar, tar.gz) so that its content is ``target`` (see the module docstring)."""
    staging = target.parent / f".{target.name}.unpacking"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as opened:
                _extract_zip(opened, staging)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as opened:
                _extract_tar(opened, staging)
        else:
            raise DownloadError(f"{archive.name}: not a zip or tar archive")
        tops = [entry for entry in staging.iterdir() if entry.name not in IGNORED_TOP_LEVEL]
        source = tops[0] if len(tops) == 1 and tops[0].is_dir() else staging
        if target.exists():
            raise DownloadError(f"{target} appeared while {archive.name} was unpacked; left as it is")
        if source is staging:
            for entry in IGNORED_TOP_LEVEL:
                shutil.rmtree(staging / entry, ignore_errors=True)
        os.replace(source, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _safe_member(name: str, archive: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise DownloadError(f"{archive}: member {name!r} would land outside the target folder; not unpacked")
    return name


def _extract_zip(opened: zipfile.ZipFile, staging: Path) -> None:
    for member in opened.infolist():
        _safe_member(member.filename, opened.filename or "zip")
    opened.extractall(staging)


def _extract_tar(opened: tarfile.TarFile, staging: Path) -> None:
    members = []
    for member in opened.getmembers():
        _safe_member(member.name, opened.name or "tar")
        if not (member.isfile() or member.isdir()):
            continue  # links and devices are never needed by a benchmark's layout
        members.append(member)
    # The checks above already keep every member inside; the "data" filter (Python >= 3.10.12) adds its own.
    extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    opened.extractall(staging, members=members, **extra)
