"""Where each benchmark's files come from, and where they go under ``data_root``.

Every source names the path it creates (the layout its adapter's docstring gives) and how to get it:

* :class:`GitHubFile`: a file of the benchmark's repository at a pinned commit, checked against its git
  blob id (``github_files.json``: the ``git ls-tree`` of that commit);
* :class:`UrlFile`: a public URL (COCO, Visual Genome, SWiG, Visual7W, VisDial, Zenodo, Google Cloud);
  archives are unpacked into the folder the layout wants;
* :class:`DriveFile`: a public Google Drive file, the links the benchmarks' own loaders fetch with gdown;
  a Drive answer that is a web page (quota, login) fails with the gdown command to run by hand;
* :class:`HubDataset`: a Hugging Face dataset repository (``huggingface_hub``), gated ones included:
  without an accepted licence they are skipped with the steps to take;
* :class:`SvoImages`: SVO-Probes' images, one URL per image in its CSV (many no longer resolve);
* :class:`ByHand`: data that must be requested or that is too large to fetch blindly, with the steps.

The image collections several benchmarks share (COCO, Visual Genome, SWiG, ...) are sources of their
own, fetched once whichever benchmarks need them.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .fetch import DownloadError, http_download, unpack

DRIVE_URL = "https://drive.usercontent.google.com/download?id={}&export=download&confirm=t"
GITHUB_RAW = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
KARPATHY_SPLITS = "https://storage.googleapis.com/sfr-vision-language-research/datasets/"


@dataclass
class Context:
    """What a fetch needs: the data root, the transport and the Hub client, the user's choices."""

    root: Path
    rewrite: Any = str  # URL -> URL actually requested (tests: a local server)
    hub: Any = None  # the huggingface_hub module, or a stand-in with snapshot_download / hf_hub_download
    keep_archives: bool = False
    progress: bool = True
    workers: int = 8


@dataclass(frozen=True)
class Source:
    target: str  # the file or folder it creates, relative to data_root
    what: str  # a short description (with its size when large)
    images: bool = False  # an image collection (--skip_images leaves it out)
    alternatives: tuple[str, ...] = ()  # other layouts the adapter reads first: any of them present is enough

    def path(self, context: Context) -> Path:
        return context.root / self.target

    def present(self, context: Context) -> bool:
        """Whether ``target`` (or an alternative) is already there, fetched before or put there by hand:
        then it is left alone."""
        return any(_exists(context.root / path) for path in (self.target, *self.alternatives))

    def fetch(self, context: Context) -> str:
        """Make ``target`` exist; returns a short note. Raises DownloadError (or Gated)."""
        raise NotImplementedError

    def by_hand(self, root: str) -> str:
        """The steps that give the same result without this tool."""
        raise NotImplementedError


class Gated(DownloadError):
    """A Hub repository whose licence must be accepted first."""


@dataclass(frozen=True)
class UrlFile(Source):
    url: str = ""
    checksum: str | None = None
    archive: bool = False  # unpacked into target (a folder)

    def fetch(self, context: Context) -> str:
        target = self.path(context)
        if not self.archive:
            http_download(self.url, target, checksum=self.checksum, rewrite=context.rewrite, progress=context.progress)
            return f"{_size(target)}"
        download = target.parent / _archive_name(self.url)
        http_download(self.url, download, checksum=self.checksum, rewrite=context.rewrite, progress=context.progress)
        unpack(download, target)
        if not context.keep_archives:
            download.unlink()
        return f"unpacked from {download.name}"

    def by_hand(self, root: str) -> str:
        if self.archive:
            name = _archive_name(self.url)
            return (f"wget -c '{self.url}' -O {root}/{name} && unpack it so that its content is "
                    f"{root}/{self.target}/")
        return f"wget -c '{self.url}' -O {root}/{self.target}"


def _archive_name(url: str) -> str:
    return url.split("?")[0].rstrip("/").split("/")[-1] or "download"


@dataclass(frozen=True)
class DriveFile(UrlFile):
    drive_id: str = ""
    archive_name: str = ""

    @property
    def link(self) -> str:
        return DRIVE_URL.format(self.drive_id)

    def fetch(self, context: Context) -> str:
        target = self.path(context)
        download = target.parent / self.archive_name if self.archive else target
        try:
            http_download(self.link, download, rewrite=context.rewrite, progress=context.progress)
        except DownloadError as error:
            raise DownloadError(f"Google Drive {self.drive_id}: {error}") from None
        if self.archive:
            unpack(download, target)
            if not context.keep_archives:
                download.unlink()
            return f"unpacked from {self.archive_name}"
        return _size(target)

    def by_hand(self, root: str) -> str:
        if self.archive:
            return (f"pip install gdown && gdown {self.drive_id} -O {root}/{self.archive_name}, then unpack it so "
                    f"that its content is {root}/{self.target}/")
        return f"pip install gdown && gdown {self.drive_id} -O {root}/{self.target}"


@dataclass(frozen=True)
class GitHubFiles(Source):
    """Files of a benchmark's repository at the commit ``github_files.json`` pins, each checked against
    its git blob id; ``target`` is the folder they go to (``strip`` removed from their paths), or, for
    one archive, the folder it becomes."""

    benchmark: str = ""
    paths: tuple[str, ...] = ()  # default: every file listed for the benchmark
    strip: str = "data/"

    def files(self) -> list[tuple[str, str, str]]:
        """``(url, checksum, path under target)`` of each file."""
        pinned = github_files()[self.benchmark]
        chosen = self.paths or tuple(sorted(pinned["files"]))
        return [(GITHUB_RAW.format(repo=pinned["repo"], commit=pinned["commit"], path=path),
                 "git-blob:" + pinned["files"][path], path[len(self.strip):] if path.startswith(self.strip) else path)
                for path in chosen]

    def single(self) -> UrlFile | None:
        """The one file (or archive) this is, as a UrlFile whose target is ``target``; None for several."""
        files = self.files()
        if len(files) != 1:
            return None
        url, checksum, _ = files[0]
        return UrlFile(self.target, self.what, url=url, checksum=checksum, archive=url.endswith(".zip"))

    def present(self, context: Context) -> bool:
        if self.single() is not None:
            return _exists(self.path(context))
        return all((self.path(context) / relative).exists() for _, _, relative in self.files())

    def fetch(self, context: Context) -> str:
        single = self.single()
        if single is not None:
            return single.fetch(context)
        files = self.files()
        for url, checksum, relative in files:  # each file lands whole or not at all: a rerun fetches the rest
            dest = self.path(context) / relative
            if not dest.exists():
                http_download(url, dest, checksum=checksum, rewrite=context.rewrite, progress=context.progress)
        pinned = github_files()[self.benchmark]
        return f"{len(files)} files of {pinned['repo']}@{pinned['commit'][:7]}, each checked"

    def by_hand(self, root: str) -> str:
        single = self.single()
        if single is not None:
            return single.by_hand(root)
        pinned = github_files()[self.benchmark]
        return (f"git clone https://github.com/{pinned['repo']} && git -C {pinned['repo'].split('/')[1]} checkout "
                f"{pinned['commit']}, then copy the files of its {self.strip or './'} into {root}/{self.target}/")


@dataclass(frozen=True)
class HubDataset(Source):
    repo: str = ""
    include: tuple[str, ...] = ()  # allow_patterns of snapshot_download
    archives: tuple[tuple[str, str], ...] = ()  # (archive in the download, folder it becomes), relative to target
    gated: bool = False

    def fetch(self, context: Context) -> str:
        from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

        hub = context.hub
        if hub is None:
            import huggingface_hub as hub
        target = self.path(context)
        staging = target.parent / f".{target.name}.hub"
        try:
            hub.snapshot_download(self.repo, repo_type="dataset", allow_patterns=list(self.include) or None,
                                  local_dir=str(staging))
        except GatedRepoError:
            raise Gated(f"{self.repo} is gated: its licence is not accepted for this token") from None
        except RepositoryNotFoundError:
            raise Gated(f"{self.repo}: not found, or gated and no token is logged in") from None
        except Exception as error:  # offline, network: say what and leave the rest to the next run
            raise DownloadError(f"{self.repo}: {error}") from None
        shutil.rmtree(staging / ".cache", ignore_errors=True)  # huggingface_hub's bookkeeping of local_dir
        for archive, folder in self.archives:
            unpack(staging / archive, staging / folder)
            if not context.keep_archives:
                (staging / archive).unlink()
        if target.exists():
            raise DownloadError(f"{target} appeared during the download; left as it is")
        os.replace(staging, target)
        return f"from the Hub dataset {self.repo}"

    def by_hand(self, root: str) -> str:
        include = "".join(f" --include '{pattern}'" for pattern in self.include)
        steps = f"hf download {self.repo} --repo-type dataset{include} --local-dir {root}/{self.target}"
        for archive, folder in self.archives:
            steps += f", then unpack {root}/{self.target}/{archive} so that its content is {root}/{self.target}/{folder}/"
        if self.gated:
            steps = (f"accept the licence at https://huggingface.co/datasets/{self.repo}, log in (hf auth login or "
                     f"HF_TOKEN), then run this command again, or: {steps}")
        return steps


@dataclass(frozen=True)
class ByHand(Source):
    steps: str = ""

    def fetch(self, context: Context) -> str:
        raise AssertionError("a ByHand source is never fetched")

    def by_hand(self, root: str) -> str:
        return self.steps.replace("<data_root>", root)


@dataclass(frozen=True)
class SvoImages(Source):
    """The images of ``table`` (SVO-Probes' CSV), each from its ``pos_url`` / ``neg_url``, saved as
    ``<image_id>.jpg``; URLs that no longer answer are counted, not fatal."""

    table: str = ""
    failures: list = field(default_factory=list, compare=False, hash=False)

    def fetch(self, context: Context) -> str:
        table = context.root / self.table
        if not table.exists():
            raise DownloadError(f"{self.table} is needed first (it lists the image URLs)")
        wanted = {}
        with open(table, newline="", encoding="utf-8", errors="replace") as handle:
            for row in csv.DictReader(handle):
                for side in ("pos", "neg"):
                    image_id, url = row.get(f"{side}_image_id"), row.get(f"{side}_url")
                    if image_id and url:
                        wanted.setdefault(image_id, url)
        folder = self.path(context)
        staging = folder.parent / f".{folder.name}.partial"  # resumed by the next run; renamed when a pass ends
        staging.mkdir(parents=True, exist_ok=True)

        def one(item):
            image_id, url = item
            dest = staging / f"{image_id}.jpg"
            if dest.exists():
                return None
            try:
                http_download(url, dest, rewrite=context.rewrite, timeout=20, progress=False)
                return None
            except DownloadError as error:
                return f"{image_id}: {error}"

        with ThreadPoolExecutor(max_workers=context.workers) as pool:
            failed = [note for note in pool.map(one, sorted(wanted.items())) if note]
        for part in staging.glob("*.part"):
            part.unlink()
        os.replace(staging, folder)
        return f"{len(wanted) - len(failed)} of {len(wanted)} images ({len(failed)} URLs no longer answer)"

    def by_hand(self, root: str) -> str:
        return (f"download each pos_url / neg_url of {root}/{self.table} as {root}/{self.target}/<pos_image_id | "
                "neg_image_id>.jpg")


def _exists(path: Path) -> bool:
    """A file, or a folder with something in it."""
    return path.is_file() or (path.is_dir() and any(path.iterdir()))


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size} bytes"


def github_files() -> dict:
    text = resources.files("fsc_clip_hf.evaluation.download").joinpath("github_files.json").read_text()
    return json.loads(text)


# ---------------------------------------------------------------------------------------------
# The registry


def _coco(split: str, size: str) -> UrlFile:
    return UrlFile(f"coco/{split}", f"COCO {split} images ({size})", images=True,
                   url=f"http://images.cocodataset.org/zips/{split}.zip", archive=True)


SHARED = {
    "coco/val2014": _coco("val2014", "6 GB"),
    "coco/val2017": _coco("val2017", "1 GB"),
    "coco/train2014": _coco("train2014", "13 GB"),
    "visual_genome/VG_100K": UrlFile("visual_genome/VG_100K", "Visual Genome images, part 1 (9 GB)", images=True,
                                     url="https://cs.stanford.edu/people/rak248/VG_100K_2/images.zip", archive=True),
    "visual_genome/VG_100K_2": UrlFile("visual_genome/VG_100K_2", "Visual Genome images, part 2 (5 GB)", images=True,
                                       url="https://cs.stanford.edu/people/rak248/VG_100K_2/images2.zip",
                                       archive=True),
    "swig": UrlFile("swig", "SWiG images (13 GB)", images=True,
                    url="https://swig-data-weights.s3.us-east-2.amazonaws.com/images_512.zip", archive=True),
    "flickr30k/flickr30k-images": ByHand(
        "flickr30k/flickr30k-images", "Flickr30k images (by request)", images=True,
        steps="request the Flickr30k images at https://forms.illinois.edu/sec/229675 (see "
              "https://shannon.cs.illinois.edu/DenotationGraph/), then unpack them into "
              "<data_root>/flickr30k/flickr30k-images/"),
    "hake": ByHand("hake", "HAKE images (several sources)", images=True,
                   steps="follow VL-CheckList's DATASETS.md (github.com/om-ai-lab/VL-CheckList) for the HAKE images "
                         "(https://github.com/DirtyHarryLYL/HAKE/tree/master/Images) and lay them out under "
                         "<data_root>/hake/"),
}


def _github(benchmark: str, target: str, *paths: str, strip: str = "data/") -> GitHubFiles:
    return GitHubFiles(target, f"{benchmark} annotations (github.com/{github_files()[benchmark]['repo']})",
                       benchmark=benchmark, paths=paths, strip=strip)


def _drive(target: str, drive_id: str, what: str, archive_name: str = "", images: bool = False) -> DriveFile:
    return DriveFile(target, what, images=images, drive_id=drive_id, archive=bool(archive_name),
                     archive_name=archive_name)


def zeroshot_sources() -> dict[str, list[Source]]:
    """Each zero-shot task from clip-benchmark's copy on the Hub (Hateful Memes, which has none, from the
    challenge's release mirrored there); a task whose ELEVATER release is present is left alone, since
    the adapter reads that first."""
    from ..adapters.elevater import FOLDER
    from ..adapters.zeroshot import TASKS, HatefulMemes

    sources = {}
    for task in TASKS:
        release = (f"{FOLDER}/classification/{task.release}",)
        if task.wds:
            sources[task.name] = [HubDataset(f"zeroshot/{task.wds[0]}", f"{task.title} (clip-benchmark's copy)",
                                             alternatives=release + tuple(f"zeroshot/{w}" for w in task.wds[1:]),
                                             repo=f"clip-benchmark/{task.wds[0]}", include=("test/*", "*.txt"))]
        elif task.name == "hateful_memes":
            sources[task.name] = [HubDataset(HatefulMemes.ORIGINAL, "Hateful Memes (the challenge's dev_seen)",
                                             alternatives=release, repo="neuralcatcher/hateful_memes",
                                             include=("dev_seen.jsonl", "img/*"), images=True)]
    return sources


def benchmark_sources() -> dict[str, list[Source | str]]:
    """Per benchmark, its sources; a string names a shared image collection of ``SHARED``."""
    return {
        "aro": [
            _drive("aro/visual_genome_relation.json", "1kX2iCHEv0CADL8dSO1nMdW-V0NqIAiP3", "ARO VG-Relation"),
            _drive("aro/visual_genome_attribution.json", "13tWvOrNOLHxl3Rm9cR3geAdHx2qR3-Tw", "ARO VG-Attribution"),
            _drive("aro/images", "1qaPlrwhGNMrR3a11iopZUT_GPP_LrgP9", "ARO's VG crops (vgr_vga_images.zip)",
                   "vgr_vga_images.zip", images=True),
            UrlFile("coco/coco_karpathy_test.json", "COCO Karpathy test split", url=KARPATHY_SPLITS +
                    "coco_karpathy_test.json"),
            UrlFile("flickr30k/flickr30k_test.json", "Flickr30k test split", url=KARPATHY_SPLITS + "flickr30k_test.json"),
            "coco/val2014", "flickr30k/flickr30k-images",
        ],
        "crepe": [_github("crepe", "crepe/prod_hard_negatives", "data/prod_hard_negatives.zip"),
                  "visual_genome/VG_100K", "visual_genome/VG_100K_2"],
        "eqben": [
            _drive("eqben/all_select.json", "1gNR4K2Cv4rbnjVRdHuBV6PuoJ5MlRXnZ", "EqBen's whole original annotation"),
            ByHand("eqben/images", "EqBen images (100 GB, or 23 GB as .jpg)", images=True,
                   steps="download EqBen's full image archive (Google Drive 1e608uhd36ak_v7SnlMVaYcekBc4gBqzn, ~100 GB: "
                         "pip install gdown && gdown 1e608uhd36ak_v7SnlMVaYcekBc4gBqzn) or the light .jpg release "
                         "linked from github.com/Wangt-CN/EqBen, and extract it so that the eqbenag/, eqbengebc/, ... "
                         "folders of its annotation's image paths are in <data_root>/eqben/images/"),
        ],
        "imagecode": [_github("imagecode", "imagecode/valid_data.json", "data/valid_data.json"),
                      UrlFile("imagecode/image-sets", "ImageCoDe image sets (image-sets.zip)", images=True,
                              url="https://zenodo.org/record/6518944/files/image-sets.zip", archive=True)],
        "sugarcrepe": [_github("sugarcrepe", "sugarcrepe"), "coco/val2017"],
        "svo_probes": [_github("svo_probes", "svo_probes/svo_probes.csv", "svo_probes.csv"),
                       SvoImages("svo_probes/images", "SVO-Probes images (one URL each)", images=True,
                                 table="svo_probes/svo_probes.csv")],
        "valse": [
            _github("valse", "valse"),
            UrlFile("visual7w", "Visual7W images (2 GB)", images=True,
                    url="http://vision.stanford.edu/yukezhu/visual7w_images.zip", archive=True),
            UrlFile("visdial/VisualDialog_val2018", "VisDial v1.0 val images", images=True,
                    url="https://www.dropbox.com/s/twmtutniktom7tu/VisualDialog_val2018.zip?dl=1", archive=True),
            "coco/val2017", "coco/val2014", "coco/train2014", "swig",
        ],
        "vl_checklist": [_github("vl_checklist", "vl_checklist/data"),
                         "visual_genome/VG_100K", "visual_genome/VG_100K_2", "swig", "hake"],
        "whatsup": [
            _drive("whatsup/controlled_images_dataset.json", "1ap8mmmpQjLIjPGuplkpBgc1hoEHCj4hm", "What'sUp A"),
            _drive("whatsup/controlled_clevr_dataset.json", "1unNNosLbdy9NDjgj4l8fsQP3WiAAGA6z", "What'sUp B"),
            _drive("whatsup/coco_qa_one_obj.json", "1RsMdpE9mmwnK4zzMPpC1-wTU_hNis-dq", "What'sUp COCO-QA one"),
            _drive("whatsup/coco_qa_two_obj.json", "1TCEoM0mgFmz8T4cF7PQ3XJmO6JjtiQ-s", "What'sUp COCO-QA two"),
            _drive("whatsup/vg_qa_one_obj.json", "1ARMRzRdohs9QTr1gpIfzyUzvW20wYp_p", "What'sUp VG-QA one"),
            _drive("whatsup/vg_qa_two_obj.json", "1sjVG5O3QMY8s118k7kQM8zzDZH12i_95", "What'sUp VG-QA two"),
            _drive("whatsup/controlled_images", "19KGYVQjrV3syb00GgcavB2nZTW5NXX0H", "What'sUp A images",
                   "controlled_images.tar.gz", images=True),
            _drive("whatsup/controlled_clevr", "13jdBpg8t3NqW3jrL6FK8HO93vwsUjDxG", "What'sUp B images",
                   "controlled_clevr.tar.gz", images=True),
            _drive("whatsup/vg_images", "1idW7Buoz7fQm4-670n-oERw9U-2JLJvE", "What'sUp VG-QA images",
                   "vg_images.tar.gz", images=True),
            "coco/val2017",
        ],
        "colorswap": [HubDataset("colorswap", "ColorSwap's test split (gated on the Hub)", repo="stanfordnlp/colorswap",
                                 include=("*test*.parquet",), gated=True)],
        "mmvp_vlm": [HubDataset("mmvp_vlm", "MMVP-VLM (Questions.csv and 270 images)", repo="MMVP/MMVP_VLM",
                                include=("Questions.csv", "MLLM_VLM Images/*"))],
        "sugarcrepe_pp": [_github("sugarcrepe_pp", "sugarcrepe_pp"), "coco/val2017"],
        "winoground": [HubDataset("winoground", "Winoground (gated on the Hub)", repo="facebook/winoground",
                                  include=("data/*",), archives=(("data/images.zip", "data/images"),), gated=True)],
        "spec": [HubDataset("spec", "SPEC (data.zip)", repo="wjpoom/SPEC", include=("data.zip",),
                            archives=(("data.zip", "data"),))],
        **zeroshot_sources(),
        "coco": [HubDataset("retrieval/wds_mscoco_captions", "COCO 5k retrieval (clip-benchmark)",
                            repo="clip-benchmark/wds_mscoco_captions", include=("test/*", "*.txt"))],
        "flickr30k": [HubDataset("retrieval/wds_flickr30k", "Flickr30k 1k retrieval (clip-benchmark)",
                                 repo="clip-benchmark/wds_flickr30k", include=("test/*", "*.txt"))],
    }
