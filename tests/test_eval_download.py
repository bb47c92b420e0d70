"""The benchmark downloader at the network boundary: a local HTTP server on 127.0.0.1 serves fixture
files and archives in place of GitHub, COCO, Google Drive and the rest, a stand-in replaces the Hub
API, and any connection to another address fails the test."""

import hashlib
import io
import json
import shutil
import socket
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from helpers.eval_benchmark_files import write_spec, write_sugarcrepe
from helpers.eval_breadth_files import write_mmvp_vlm, write_sugarcrepe_pp
from huggingface_hub.errors import GatedRepoError

from fsc_clip_hf.evaluation.download import (
    BY_HAND,
    FAILED,
    FETCHED,
    GATED,
    PLANNED,
    PRESENT,
    SKIPPED,
    download_benchmarks,
    format_rows,
)
from fsc_clip_hf.evaluation.download import sources as registry
from fsc_clip_hf.evaluation.download.__main__ import main
from fsc_clip_hf.evaluation.download.fetch import DownloadError, file_checksum, http_download, unpack
from fsc_clip_hf.evaluation.suite import load_benchmark


class Server:
    """Serves ``files`` (path -> bytes) with Range support; ``cut`` paths stop after half their bytes once."""

    def __init__(self):
        self.files, self.html, self.cut, self.requests = {}, set(), set(), []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path
                server.requests.append((path, self.headers.get("Range")))
                if path not in server.files:
                    self.send_error(404)
                    return
                body = server.files[path]
                start = int(self.headers["Range"][6:].split("-")[0]) if self.headers.get("Range") else 0
                if start >= len(body) and start:
                    self.send_response(416)
                    self.end_headers()
                    return
                self.send_response(206 if start else 200)
                self.send_header("Content-Type", "text/html" if path in server.html else "application/octet-stream")
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if path in server.cut:
                    server.cut.discard(path)
                    self.wfile.write(body[start:start + (len(body) - start) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def key(self, url: str) -> str:
        parts = urlsplit(url)
        return f"/{parts.netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")

    def add(self, url: str, body: bytes) -> None:
        self.files[self.key(url)] = body

    def rewrite(self, url: str) -> str:
        return f"http://127.0.0.1:{self.port}{self.key(url)}"


@pytest.fixture
def server(monkeypatch):
    real_connect = socket.socket.connect

    def only_local(sock, address):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "localhost"):
            raise AssertionError(f"the downloader tried to reach {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", only_local)
    served = Server()
    yield served
    served.httpd.shutdown()


class FakeHub:
    """``huggingface_hub``'s snapshot_download: copies a fixture folder per repository into local_dir."""

    def __init__(self, repos, gated=()):
        self.repos, self.gated, self.calls = repos, set(gated), []

    def snapshot_download(self, repo_id, repo_type=None, allow_patterns=None, local_dir=None):
        self.calls.append((repo_id, repo_type, tuple(allow_patterns or ())))
        if repo_id in self.gated:
            raise GatedRepoError(f"Access to dataset {repo_id} is restricted.", response=_Response())
        shutil.copytree(self.repos[repo_id], local_dir, dirs_exist_ok=True)
        Path(local_dir, ".cache").mkdir(exist_ok=True)  # as huggingface_hub leaves it
        return local_dir


class _Response:
    status_code, headers, url, request = 403, {}, "", None


def _zip(folder: Path, arcroot: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                relative = path.relative_to(folder).as_posix()
                archive.write(path, f"{arcroot}/{relative}" if arcroot else relative)
    return buffer.getvalue()


def _tar_gz(files: dict) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def _git_blob(body: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()


def serve_pinned_files(server, monkeypatch, benchmark: str, source: Path) -> None:
    """``benchmark``'s files written under ``source/<benchmark>`` at its pinned GitHub URLs, and COCO val2017
    (``source/coco/val2017``) as COCO's zip."""
    pinned = json.loads(json.dumps(registry.github_files()))
    entry = pinned[benchmark]
    for path in entry["files"]:
        body = (source / benchmark / Path(path).name).read_bytes()
        server.add(registry.GITHUB_RAW.format(repo=entry["repo"], commit=entry["commit"], path=path), body)
        entry["files"][path] = _git_blob(body)  # the fixtures' blob ids in place of the real files'
    monkeypatch.setattr(registry, "github_files", lambda: pinned)
    server.add("http://images.cocodataset.org/zips/val2017.zip", _zip(source / "coco" / "val2017", "val2017"))


def serve_sugarcrepe(server, tmp_path, monkeypatch):
    """SugarCrepe's seven JSONs at their pinned GitHub URLs and COCO val2017 as COCO's zip."""
    source = tmp_path / "published"
    write_sugarcrepe(source)
    serve_pinned_files(server, monkeypatch, "sugarcrepe", source)
    return source


def test_a_benchmark_is_fetched_into_the_layout_its_adapter_reads_and_a_rerun_fetches_nothing(server, tmp_path,
                                                                                              monkeypatch):
    serve_sugarcrepe(server, tmp_path, monkeypatch)
    root = tmp_path / "data"
    rows = download_benchmarks("sugarcrepe", root, rewrite=server.rewrite, progress=False)
    assert [(row.source.target, row.status) for row in rows] == [("sugarcrepe", FETCHED), ("coco/val2017", FETCHED)]
    data = load_benchmark("sugarcrepe", str(root))
    assert data.item_count() == 8 and not data.missing  # what write_sugarcrepe wrote, images included
    assert sorted(p.name for p in (root / "coco").iterdir()) == ["val2017"]  # the zip is gone once unpacked

    requests = len(server.requests)
    again = download_benchmarks("sugarcrepe", root, rewrite=server.rewrite, progress=False)
    assert {row.status for row in again} == {PRESENT} and len(server.requests) == requests


def test_a_file_whose_checksum_differs_is_refused_and_nothing_is_left(server, tmp_path, monkeypatch):
    serve_sugarcrepe(server, tmp_path, monkeypatch)
    url = next(iter(registry.github_files()["sugarcrepe"]["files"]))
    entry = registry.github_files()["sugarcrepe"]
    server.add(registry.GITHUB_RAW.format(repo=entry["repo"], commit=entry["commit"], path=url), b"{}")  # changed
    root = tmp_path / "data"
    rows = download_benchmarks("sugarcrepe", root, rewrite=server.rewrite, progress=False, skip_images=True)
    assert rows[0].status == FAILED and "checksum git-blob:" in rows[0].note
    assert rows[0].steps.startswith("git clone https://github.com/RAIVNLab/sugar-crepe")
    assert rows[1].status == SKIPPED and "--skip_images" in rows[1].note
    assert not (root / "sugarcrepe" / Path(url).name).exists()
    assert not list((root / "sugarcrepe").glob("*.part"))


def test_a_cut_download_resumes_where_it_stopped(server, tmp_path):
    body = bytes(range(256)) * 4000
    url = "https://example.org/files/big.bin"
    server.add(url, body)
    server.cut.add(server.key(url))
    dest = tmp_path / "big.bin"
    checksum = "sha256:" + hashlib.sha256(body).hexdigest()
    with pytest.raises(DownloadError, match="run again to resume"):
        http_download(url, dest, checksum=checksum, rewrite=server.rewrite, progress=False)
    part = dest.with_name("big.bin.part")
    assert not dest.exists() and 0 < part.stat().st_size < len(body)
    http_download(url, dest, checksum=checksum, rewrite=server.rewrite, progress=False)
    assert dest.read_bytes() == body and not part.exists()
    assert server.requests[-1][1] == f"bytes={len(body) // 2}-"  # only the rest was asked for
    assert file_checksum(dest, "sha256") == checksum


def test_a_web_page_in_place_of_a_drive_file_fails_with_the_gdown_command(server, tmp_path):
    source = registry.DriveFile("aro/visual_genome_relation.json", "ARO", drive_id="abc123")
    server.add(source.link, b"<html>Google Drive can't scan this file</html>")
    server.html.add(server.key(source.link))
    context = registry.Context(tmp_path, rewrite=server.rewrite, progress=False)
    with pytest.raises(DownloadError, match="web page"):
        source.fetch(context)
    assert source.by_hand(str(tmp_path)) == (f"pip install gdown && gdown abc123 -O {tmp_path}/aro/"
                                             "visual_genome_relation.json")


def test_archives_become_the_folder_the_layout_wants_with_or_without_a_top_folder(tmp_path):
    (tmp_path / "a.tar.gz").write_bytes(_tar_gz({"controlled_images/x.jpeg": b"1", "controlled_images/y.jpeg": b"2"}))
    (tmp_path / "b.zip").write_bytes(_zip_of({"one.jpg": b"1", "two/three.jpg": b"3", "__MACOSX/._one.jpg": b""}))
    assert sorted(p.name for p in unpack(tmp_path / "a.tar.gz", tmp_path / "out_a").iterdir()) == ["x.jpeg", "y.jpeg"]
    assert sorted(p.relative_to(tmp_path / "out_b").as_posix() for p in unpack(tmp_path / "b.zip", tmp_path / "out_b")
                  .rglob("*")) == ["one.jpg", "two", "two/three.jpg"]
    (tmp_path / "evil.tar.gz").write_bytes(_tar_gz({"../escaped.txt": b"x"}))
    with pytest.raises(DownloadError, match="outside the target folder"):
        unpack(tmp_path / "evil.tar.gz", tmp_path / "out_evil")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "out_evil").exists()


def _zip_of(files: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def test_hub_datasets_come_through_huggingface_hub_and_gated_ones_are_skipped_with_the_steps(server, tmp_path):
    published = tmp_path / "published"
    write_spec(published)
    (tmp_path / "hub_spec").mkdir()
    (tmp_path / "hub_spec" / "data.zip").write_bytes(_zip(published / "spec", "data"))
    hub = FakeHub({"wjpoom/SPEC": tmp_path / "hub_spec"}, gated={"facebook/winoground"})
    root = tmp_path / "data"
    rows = download_benchmarks("spec,winoground", root, rewrite=server.rewrite, hub=hub, progress=False)
    assert [(row.source.target, row.status) for row in rows] == [("spec", FETCHED), ("winoground", GATED)]
    assert hub.calls == [("wjpoom/SPEC", "dataset", ("data.zip",)), ("facebook/winoground", "dataset", ("data/*",))]
    assert load_benchmark("spec", str(root)).item_count() == 12
    assert not (root / "spec" / ".cache").exists() and not (root / "spec" / "data.zip").exists()
    assert "accept the licence at https://huggingface.co/datasets/facebook/winoground" in rows[1].steps
    assert not (root / "winoground").exists()
    assert server.requests == []  # nothing went over HTTP but through the Hub client


def test_mmvp_vlm_and_sugarcrepe_pp_are_fetched_and_gated_colorswap_is_skipped_with_the_steps(server, tmp_path,
                                                                                             monkeypatch):
    published = tmp_path / "published"
    write_mmvp_vlm(published, pairs=2)
    write_sugarcrepe_pp(published)
    serve_pinned_files(server, monkeypatch, "sugarcrepe_pp", published)
    hub = FakeHub({"MMVP/MMVP_VLM": published / "mmvp_vlm"}, gated={"stanfordnlp/colorswap"})
    root = tmp_path / "data"
    rows = download_benchmarks("colorswap,mmvp_vlm,sugarcrepe_pp", root, rewrite=server.rewrite, hub=hub, progress=False)
    assert [(row.source.target, row.status) for row in rows] == [
        ("colorswap", GATED), ("mmvp_vlm", FETCHED), ("sugarcrepe_pp", FETCHED), ("coco/val2017", FETCHED)]
    assert "accept the licence at https://huggingface.co/datasets/stanfordnlp/colorswap" in rows[0].steps
    assert hub.calls[1] == ("MMVP/MMVP_VLM", "dataset", ("Questions.csv", "MLLM_VLM Images/*"))
    assert load_benchmark("mmvp_vlm", str(root)).item_count() == 2
    assert load_benchmark("sugarcrepe_pp", str(root)).item_count() == 10


def test_requested_data_is_listed_with_its_steps_and_the_command_exits_by_what_failed(server, tmp_path, monkeypatch,
                                                                                         capsys):
    root = tmp_path / "data"
    statuses = {row.source.target: row.status for row in download_benchmarks("aro", root, dry_run=True)}
    assert statuses["flickr30k/flickr30k-images"] == BY_HAND and statuses["coco/val2014"] == PLANNED
    rows = download_benchmarks("aro", root, skip_images=True, dry_run=True)
    statuses = {row.source.target: row.status for row in rows}
    assert statuses["flickr30k/flickr30k-images"] == SKIPPED and statuses["coco/val2014"] == SKIPPED
    assert statuses["aro/visual_genome_relation.json"] == PLANNED
    report = format_rows(rows)
    assert "https://forms.illinois.edu/sec/229675" in report and "left to do:" in report
    assert not root.exists()  # a dry run writes nothing

    # Every URL answers 404 here: the command fails, says to rerun, and still lists what is left by hand.
    monkeypatch.setattr("fsc_clip_hf.evaluation.download.__main__.download_benchmarks",
                        lambda *args, **kwargs: download_benchmarks(*args, **kwargs, rewrite=server.rewrite))
    assert main(["--benchmarks", "imagecode", "--data-root", str(root), "--no_progress"]) == 1
    out = capsys.readouterr()
    assert "HTTP 404" in out.out and "run the same command again to resume" in out.err
    assert not root.exists()  # no empty benchmark folders (nor data root) left by the failed fetches
    (root / "imagecode").mkdir(parents=True)
    (root / "imagecode" / "image-sets.zip.part").write_bytes(b"partial")  # a cut download's part stays
    assert main(["--benchmarks", "imagecode", "--data-root", str(root), "--no_progress"]) == 1
    assert (root / "imagecode" / "image-sets.zip.part").read_bytes() == b"partial"
    assert [folder for folder in root.rglob("*") if folder.is_dir() and not any(folder.iterdir())] == []
    assert all(path.startswith(("/raw.githubusercontent.com/", "/zenodo.org/")) for path, _ in server.requests)


def test_a_zero_shot_task_comes_from_clip_benchmarks_copy_unless_elevaters_release_is_there(tmp_path):
    (tmp_path / "hub_cifar" / "test").mkdir(parents=True)
    (tmp_path / "hub_cifar" / "test" / "0.tar").write_bytes(b"")
    (tmp_path / "hub_cifar" / "classnames.txt").write_text("a\nb\n")
    hub = FakeHub({"clip-benchmark/wds_vtab-cifar10": tmp_path / "hub_cifar"})
    root = tmp_path / "data"
    (root / "elevater" / "classification" / "dtd_20211007").mkdir(parents=True)
    (root / "elevater" / "classification" / "dtd_20211007" / "test.txt").write_text("")
    rows = {row.source.target: row.status for row in download_benchmarks("cifar10,dtd", root, hub=hub, progress=False)}
    assert rows == {"zeroshot/wds_vtab-cifar10": FETCHED, "zeroshot/wds_vtab-dtd": PRESENT}
    assert hub.calls == [("clip-benchmark/wds_vtab-cifar10", "dataset", ("test/*", "*.txt"))]
    assert (root / "zeroshot" / "wds_vtab-cifar10" / "classnames.txt").exists()
