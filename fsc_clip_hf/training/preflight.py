"""Pre-flight: everything a training run needs, looked up before anything is loaded.

`recipes/train.py` runs it first (alone with `--dry_run`): the model, the processor, the training
data, the negatives' resources, the evaluation benchmarks, the output folder and the precision are
each resolved without downloading or loading anything, and one table says what is present and what
is missing, with the exact command or option that fixes each missing piece. A run with a missing piece
exits with status 2 before any Hub request could start retrying.

Hub ids are looked up in the local Hub cache first; the Hub itself is asked only when something is
not cached and ``HF_HUB_OFFLINE`` is not set, with one short request (``HUB_PROBE_TIMEOUT``).

The output folder is probed for writing and locked for the run (a second run on the same
``output_dir`` is refused while the first holds it); a fresh run in a folder that holds checkpoints is
refused unless ``overwrite_output_dir`` or ``resume_from_checkpoint`` says what to do with them.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..data.sources import (
    COCO_TRAIN2014_URL,
    HUB_WEBDATASETS,
    NEGCLIP_IMAGE_FOLDERS,
    NEGCLIP_NAME,
    NEGCLIP_TSV_LOCATIONS,
    NEGCLIP_URL,
)
from ..data.tables import table_format
from .arguments import FSCTrainingArguments

OK, MISSING, NOTE = "ok", "MISSING", "note"
EXIT_MISSING = 2
HUB_PROBE_TIMEOUT = 5.0
LOCK_FILE = ".fsc_clip_hf.lock"
FINAL_DIR = "final"  # the release a finished run writes into output_dir
MODEL_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
TOKENIZER_FILES = (("tokenizer.json",), ("vocab.json", "merges.txt"))
IMAGE_PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_CHECKPOINT = re.compile(r"^checkpoint-\d+$")


@dataclass
class Check:
    """One row of the pre-flight table."""

    piece: str   # "model", "training data", "eval: sugarcrepe", ...
    status: str  # OK, MISSING or NOTE (worth knowing, does not stop the run)
    what: str    # what was looked for, as given
    detail: str  # where it was found, or what is wrong
    fix: str = ""  # the exact command or option that supplies it


@dataclass
class Preflight:
    checks: list[Check]
    lock: "OutputLock | None" = None  # held for the run

    @property
    def missing(self) -> list[Check]:
        return [check for check in self.checks if check.status == MISSING]

    def table(self) -> str:
        return format_table(self.checks)


def run_preflight(args: FSCTrainingArguments, extra: list[Check] = (), lock: bool = True) -> Preflight:
    """Every check (see the module docstring); with ``lock``, the output folder is locked for this
    process when nothing is missing (the main process of a distributed run takes it)."""
    hub = Hub()
    checks = [*extra]
    checks += check_model(args.model_name_or_path, hub)
    checks += check_processor(args.processor_name_or_path, args.model_name_or_path, args.pixels, hub)
    checks += check_data(args, hub)
    checks += check_negatives(args)
    checks += check_eval(args.eval_benchmarks, args.eval_data_root)
    checks += check_precision(args)
    checks += check_push(args, hub)
    output = check_output_dir(args)
    checks += output
    held = None
    if lock and not any(c.status == MISSING for c in checks) and args.process_index == 0 and args.output_dir:
        held = OutputLock(args.output_dir)
        problem = held.acquire()
        if problem is not None:
            checks.append(problem)
            held = None
    return Preflight(checks, held)


def format_table(checks: list[Check]) -> str:
    """The table printed before a run: one row per piece, the fix under each missing one."""
    missing = sum(check.status == MISSING for check in checks)
    head = "pre-flight: everything is in place" if not missing else \
        f"pre-flight: {missing} missing piece{'s' if missing > 1 else ''} (fix each, then run again)"
    width = max([len(check.piece) for check in checks] + [5])
    lines = [head]
    for check in checks:
        lines.append(f"  {check.status:<7}  {check.piece:<{width}}  {check.what}: {check.detail}")
        if check.fix and check.status != OK:
            lines.append(f"  {'':<7}  {'':<{width}}  fix: {check.fix}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The Hub: the local cache first, one short probe at most


class Hub:
    def __init__(self):
        from huggingface_hub import constants

        self.offline = bool(constants.HF_HUB_OFFLINE)
        self._reachable: bool | None = None

    def cached(self, repo_id: str, filenames, repo_type: str = "model") -> bool:
        """Whether one of ``filenames`` (one name, or a tuple of names that must all be there) is cached."""
        from huggingface_hub import try_to_load_from_cache

        for names in filenames:
            names = (names,) if isinstance(names, str) else names
            if all(isinstance(try_to_load_from_cache(repo_id, n, repo_type=repo_type), str) for n in names):
                return True
        return False

    def snapshot_cached(self, repo_id: str, repo_type: str) -> bool:
        from huggingface_hub import snapshot_download

        try:
            snapshot_download(repo_id, repo_type=repo_type, local_files_only=True)
            return True
        except Exception:  # LocalEntryNotFoundError and its relatives: nothing cached
            return False

    def reachable(self) -> bool:
        if self.offline:
            return False
        if self._reachable is None:
            from huggingface_hub import constants, get_session

            try:
                get_session().head(constants.ENDPOINT, timeout=HUB_PROBE_TIMEOUT)
                self._reachable = True
            except Exception:
                self._reachable = False
        return self._reachable

    def why_not(self) -> str:
        return "HF_HUB_OFFLINE is set" if self.offline else f"the Hub ({_endpoint()}) does not answer"


def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def looks_like_hub_id(value: str) -> bool:
    """``org/name`` or ``name`` that is not a path on this machine."""
    return bool(_HUB_ID.match(value)) and not os.path.exists(value) and not value.startswith((".", "~"))


def _hub_lookup(piece: str, repo_id: str, files, hub: Hub, fix: str, repo_type: str = "model") -> Check:
    if hub.cached(repo_id, files, repo_type):
        return Check(piece, OK, repo_id, "in the local Hub cache")
    if hub.reachable():
        return Check(piece, OK, repo_id, "on the Hub, downloaded at start")
    return Check(piece, MISSING, repo_id, f"not in the local Hub cache, and {hub.why_not()}", fix)


# ---------------------------------------------------------------------------------------------
# The pieces


def check_model(path: str, hub: Hub, option: str = "--model_name_or_path") -> list[Check]:
    if path == "synthetic":
        return [Check("model", OK, path, "the demo trains a tiny CLIP on its synthetic world first")]
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "config.json")):
            return [Check("model", MISSING, path, "a folder without config.json",
                          "a folder written by CLIPModel.save_pretrained (config.json, model.safetensors)")]
        if not any(os.path.isfile(os.path.join(path, name)) for name in MODEL_WEIGHTS):
            return [Check("model", MISSING, path, f"no weights ({', '.join(MODEL_WEIGHTS[::2])})",
                          "a folder written by CLIPModel.save_pretrained")]
        return [Check("model", OK, path, "local folder")]
    if not looks_like_hub_id(path):
        return [Check("model", MISSING, path, "no such folder", f"{option} <a checkpoint folder or Hub id>")]
    fix = f"hf download {path} --local-dir models/{path.split('/')[-1]}, then {option} " \
          f"models/{path.split('/')[-1]} (or, with the Hub cache: hf download {path})"
    return [_hub_lookup("model", path, [("config.json", name) for name in MODEL_WEIGHTS], hub, fix)]


def check_processor(path: str | None, model: str, pixels: str, hub: Hub) -> list[Check]:
    """The processor ``path`` (default: the model's own folder or Hub id ``model``), checked against a local
    model's text configuration."""
    if model == "synthetic":
        return [Check("processor", OK, "synthetic", "the demo writes its world's tokenizer")]
    path = path or model
    option = "--processor_name_or_path"
    if os.path.isdir(path):
        problems = []
        if not any(all(os.path.isfile(os.path.join(path, n)) for n in names) for names in TOKENIZER_FILES):
            problems.append("no tokenizer files (tokenizer.json, or vocab.json + merges.txt)")
        if not any(os.path.isfile(os.path.join(path, n)) for n in IMAGE_PROCESSOR_FILES):
            problems.append("no image processor config (preprocessor_config.json)")
        fix = (f"{option} <a folder written by CLIPProcessor.save_pretrained, or a Hub id such as "
               "openai/clip-vit-base-patch32>")
        if problems:
            return [Check("processor", MISSING, path, "; ".join(problems), fix)]
        problem = _tokenizer_mismatch(path, model, pixels, option)
        if problem:
            return [Check("processor", MISSING, path, problem, fix)]
        return [Check("processor", OK, path, "local folder" + (", its tokenizer fits the model"
                                                                if _local_model_config(model) else ""))]
    if not looks_like_hub_id(path):
        return [Check("processor", MISSING, path, "no such folder", f"{option} <a processor folder or Hub id>")]
    if path == model and not hub.cached(path, [("config.json",)]):
        check = _hub_lookup("processor", path, [("tokenizer.json", "preprocessor_config.json")], hub, "")
        if check.status == MISSING:
            check.fix = "the model's download above brings it"
        return [check]
    fix = f"hf download {path} --include '*.json' '*.txt' --local-dir models/{path.split('/')[-1]}, then " \
          f"{option} models/{path.split('/')[-1]}"
    files = [(tok, image) for tok in ("tokenizer.json", "vocab.json") for image in IMAGE_PROCESSOR_FILES]
    return [_hub_lookup("processor", path, files, hub, fix)]


def _local_model_config(model: str) -> str | None:
    return model if os.path.isfile(os.path.join(model, "config.json")) else None


def _tokenizer_mismatch(path: str, model: str, pixels: str, option: str) -> str | None:
    """Why the tokenizer in ``path`` cannot be the local model's (``fsc_clip_hf.processor``'s checks), or None;
    a model that is not a local folder is checked when training starts."""
    model = _local_model_config(model)
    if model is None:
        return None
    from transformers import CLIPConfig

    from ..processor import TokenizerMismatchError, load_processor

    try:
        load_processor(path, CLIPConfig.from_pretrained(model).text_config, option=option, pixels=pixels)
    except TokenizerMismatchError as error:
        return str(error).split(". A folder without")[0]
    except (OSError, ValueError) as error:
        return f"cannot be read: {error}"
    return None


def check_data(args: FSCTrainingArguments, hub: Hub) -> list[Check]:
    data, root, piece = args.train_data, args.train_data_root, "training data"
    if data is None:
        return [Check(piece, MISSING, "train_data", "not set", "--train_data <a named source, path or Hub id>")]
    if data == "synthetic":
        return [Check(piece, OK, data, "the demo writes its synthetic world")]
    if data == NEGCLIP_NAME:
        return _check_negclip(root)
    if data in HUB_WEBDATASETS:
        return [_check_hub_webdataset(data, root, hub)]
    if "://" in data:
        if data.startswith("hf://") and hub.offline:
            return [Check(piece, MISSING, data, "a Hub URL, and HF_HUB_OFFLINE is set", "a local copy of the shards")]
        return [Check(piece, NOTE, data, "remote: read when training starts")]
    if os.path.isdir(data) or (table_format(data) and os.path.isfile(data)):
        return [Check(piece, OK, data, "local " + ("folder" if os.path.isdir(data) else "table"))]
    if table_format(data) or data.endswith(".tar") or any(c in data for c in "*?[{"):
        from ..data.shards import expand_shard_pattern

        try:
            shards = expand_shard_pattern(data) if not table_format(data) else []
        except FileNotFoundError as error:
            return [Check(piece, MISSING, data, str(error), "--train_data <existing shards>")]
        if shards:
            return [Check(piece, OK, data, f"{len(shards)} shard{'s' * (len(shards) > 1)}")]
        return [Check(piece, MISSING, data, "no such file", "--train_data <an existing table>")]
    if looks_like_hub_id(data):
        if hub.snapshot_cached(data, "dataset"):
            return [Check(piece, OK, data, "in the local Hub cache")]
        if hub.reachable():
            return [Check(piece, OK, data, "a Hub dataset, streamed")]
        return [Check(piece, MISSING, data, f"a Hub dataset id, not cached, and {hub.why_not()}",
                      f"hf download {data} --repo-type dataset --local-dir data/{data.split('/')[-1]}, then "
                      f"--train_data data/{data.split('/')[-1]}")]
    return [Check(piece, MISSING, data, "no such file or folder", "--train_data <a named source, path or Hub id>")]


def _check_negclip(root: str | None) -> list[Check]:
    piece = "training data"
    if root is None:
        return [Check(piece, MISSING, NEGCLIP_NAME, "train_data_root is not set",
                      f"--train_data_root <the folder of {NEGCLIP_NAME}.tsv and coco/train2014>")]
    checks = []
    tsv = next((os.path.join(root, n) for n in NEGCLIP_TSV_LOCATIONS if os.path.isfile(os.path.join(root, n))), None)
    if tsv is None:
        checks.append(Check(piece, MISSING, f"{NEGCLIP_NAME}.tsv", f"not in {root} nor {root}/coco",
                            f"wget -P {root} {NEGCLIP_URL}"))
    else:
        checks.append(Check(piece, OK, f"{NEGCLIP_NAME}.tsv", tsv))
    images = next((os.path.join(root, n) for n in NEGCLIP_IMAGE_FOLDERS if os.path.isdir(os.path.join(root, n))), None)
    if images is None:
        checks.append(Check(piece, MISSING, "COCO 2014 train images",
                            f"no {' / '.join(NEGCLIP_IMAGE_FOLDERS)} under {root}",
                            f"wget {COCO_TRAIN2014_URL} && unzip -q train2014.zip -d {os.path.join(root, 'coco')}"))
    else:
        checks.append(Check(piece, OK, "COCO 2014 train images", images))
    return checks


def _check_hub_webdataset(name: str, root: str | None, hub: Hub) -> Check:
    from ..data.sources import _find_local_shards

    repo, folder, _ = HUB_WEBDATASETS[name]
    local = os.path.join(root or "data", folder)
    fix = f"hf download {repo} --repo-type dataset --local-dir {local}, then --train_data_root {root or 'data'}"
    if root is not None:
        shards = _find_local_shards(root, folder)
        if shards:
            return Check("training data", OK, name, f"{len(shards)} shards under {root}")
        return Check("training data", MISSING, name, f"no *.tar under {root}/{folder}[/train_subset_100K]", fix)
    if hub.snapshot_cached(repo, "dataset"):
        return Check("training data", NOTE, name, f"{repo} is in the local Hub cache, but the run streams it from "
                     "the Hub; pass train_data_root to read a local copy", fix)
    if hub.reachable():
        return Check("training data", OK, name, f"streamed from the Hub dataset {repo}")
    return Check("training data", MISSING, name, f"streams the Hub dataset {repo}, and {hub.why_not()}", fix)


def check_negatives(args: FSCTrainingArguments) -> list[Check]:
    style = args.add_random_text_hard_negatives
    if not style:
        return []
    from ..negatives import resources
    from ..negatives.styles import parse_style, style_parts

    checks = []
    try:
        checks.append(Check("negatives: spaCy", OK, args.spacy_model, resources.require_spacy(args.spacy_model)))
    except resources.ResourceMissingError as error:
        checks.append(Check("negatives: spaCy", MISSING, args.spacy_model, "not installed", _fix_of(error)))
    if "replace" in style_parts(parse_style(style)[0]):
        try:
            checks.append(Check("negatives: WordNet", OK, "WordNet 3.0", str(resources.require_wordnet())))
        except resources.ResourceMissingError as error:
            checks.append(Check("negatives: WordNet", MISSING, "WordNet 3.0", "not installed", _fix_of(error)))
    vocabulary = args.replace_vocabulary_file
    if args.replace_vocabulary == "corpus" and vocabulary and not os.path.exists(vocabulary):
        counted = vocabulary if vocabulary.endswith(".json") else "vocabulary.json"  # a count is read as JSON
        checks.append(Check("negatives: vocabulary", MISSING, vocabulary, "no such file",
                            f"python -m fsc_clip_hf.negatives vocabulary --input <captions> --output {counted}, "
                            "then replace_vocabulary_file: that file (or a caption file as replace_vocabulary_file)"))
    cache = args.negatives_cache_dir
    if cache and not os.path.isdir(cache):
        checks.append(Check("negatives: cache", MISSING, cache, "no such folder",
                            f"python -m fsc_clip_hf.negatives precompute --input <captions> --output {cache} "
                            f"--style {style} (or leave negatives_cache_dir unset)"))
    return checks


def _fix_of(error: Exception) -> str:
    text = str(error)
    return text.split("Fix: ", 1)[1] if "Fix: " in text else text


def check_eval(names: str | None, root: str | None, root_option: str = "--eval_data_root",
               names_option: str = "--eval_benchmarks") -> list[Check]:
    """A row per benchmark of ``names`` (names or groups): its data found under ``root``, or the download
    that brings it."""
    if not names:
        return []
    from ..evaluation.adapters import BENCHMARKS, resolve_benchmarks
    from ..evaluation.adapters.base import download_command
    from ..evaluation.adapters.synthetic import demo_worlds
    from ..evaluation.benchmarks import benchmark_problems

    if root is None:
        return [Check("eval", MISSING, names, f"{root_option.lstrip('-')} is not set",
                      f"{root_option} <the benchmark data folder>")]
    try:
        chosen = resolve_benchmarks(names)
    except ValueError as error:
        return [Check("eval", MISSING, names, str(error), f"{names_option} <names or groups>")]
    problems = benchmark_problems(chosen, root)

    def fix(name: str) -> str:
        if BENCHMARKS[name].suite == "synthetic":  # made by the demo, not downloaded
            worlds = demo_worlds()
            return f"{root_option} {worlds[0]} (the demo's world)" if worlds else "make demo writes one"
        return download_command(name, root)

    return [Check(f"eval: {name}", MISSING, root, _one_line(problems[name].replace(f" Or: {fix(name)}", "")),
                  fix(name)) if name in problems else Check(f"eval: {name}", OK, root, "data found") for name in chosen]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def check_precision(args: FSCTrainingArguments) -> list[Check]:
    if args.fp16 and args.device.type == "cpu":
        return [Check("precision", MISSING, "fp16: true", "fp16 needs a GPU: on this CPU accelerate would silently "
                      "train in float32", "--fp16 false (float32 on this machine); on a GPU the recipe runs as it is")]
    return []


def precision_check(error) -> Check:
    """The row for the bf16 that the Trainer's own arguments refused (`configs.PrecisionUnavailable`)."""
    return Check("precision", MISSING, "bf16: true", "this machine has no GPU that supports bf16", error.fix)


def check_push(args: FSCTrainingArguments, hub: Hub) -> list[Check]:
    if not args.push_to_hub:
        return []
    from huggingface_hub import get_token

    from ..release.hub import LOG_IN, push_command

    target = args.hub_model_id or Path(args.output_dir or ".").name
    later = (f"--push_to_hub false, and push {FINAL_DIR}/ once the Hub answers: "
             + push_command(Path(args.output_dir or ".") / FINAL_DIR, target))
    if args.hub_token is None and get_token() is None:
        return [Check("Hub upload", MISSING, target, "no Hub token", LOG_IN)]
    if not hub.reachable():
        return [Check("Hub upload", MISSING, target, f"a token is set, but {hub.why_not()}", later)]
    return [Check("Hub upload", OK, target, "token found, the Hub answers")]


# ---------------------------------------------------------------------------------------------
# The output folder


def check_output_dir(args: FSCTrainingArguments) -> list[Check]:
    folder = args.output_dir
    piece = "output folder"
    if not folder:
        return [Check(piece, MISSING, "output_dir", "not set", "--output_dir <a folder>")]
    problem = unwritable(folder)
    if problem:
        return [Check(piece, MISSING, folder, problem, "--output_dir <a writable folder>")]
    resume = args.resume_from_checkpoint
    resuming = resume is not None and str(resume).lower() not in ("false", "none", "")
    if resuming and str(resume).lower() not in ("true", "last") and not os.path.isdir(resume):
        return [Check(piece, MISSING, str(resume), "resume_from_checkpoint: no such folder",
                      "--resume_from_checkpoint last (the newest complete checkpoint) or an existing folder")]
    checkpoints = sorted(name for name in os.listdir(folder) if _CHECKPOINT.match(name)) if os.path.isdir(folder) else []
    if checkpoints and not resuming and not args.overwrite_output_dir:
        return [Check(piece, MISSING, folder, f"holds checkpoints ({', '.join(checkpoints[-3:])}) of an earlier run",
                      "--resume_from_checkpoint last to continue it, --overwrite_output_dir true to start afresh, "
                      "or another --output_dir")]
    if checkpoints and not resuming:
        return [Check(piece, NOTE, folder, f"holds {len(checkpoints)} checkpoints; overwrite_output_dir: a fresh run")]
    if os.path.isdir(os.path.join(folder, FINAL_DIR)) and not resuming:
        if not args.overwrite_output_dir:
            return [Check(piece, MISSING, folder, f"holds the release of an earlier run ({FINAL_DIR}/)",
                          "--overwrite_output_dir true to replace it, or another --output_dir")]
        return [Check(piece, NOTE, folder, "holds the release of an earlier run; overwrite_output_dir: replaced")]
    return [Check(piece, OK, folder, "writable")]


def unwritable(folder: str) -> str | None:
    """Why ``folder`` cannot receive the run's files, or None. Nothing is created: a folder that does not
    exist yet is judged by its nearest existing parent (the run creates it when it starts)."""
    existing = os.path.abspath(folder)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"not writable ({existing} is a file, not a folder)"
    if existing != os.path.abspath(folder):
        return None if os.access(existing, os.W_OK | os.X_OK) else f"not writable (cannot create it in {existing})"
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-probe-"):
            pass
    except OSError as error:
        return f"not writable ({error.strerror or error})"
    return None


class OutputLock:
    """An exclusive lock on ``output_dir`` for the life of this process (``fcntl.flock``: released by
    the kernel when the process ends, however it ends, so no stale lock is left behind).

    A lock taken with ``flock`` belongs to the open file, which forked children share: DataLoader workers
    would hold it after their parent was killed, until they notice (seconds later), and a preempted run
    could not resume at once. So each child forked while the lock is held closes its copy at once.
    """

    def __init__(self, folder: str):
        self.folder = folder
        self.path = os.path.join(folder, LOCK_FILE)
        self._handle = None
        os.register_at_fork(after_in_child=self._close_in_child)

    def acquire(self) -> Check | None:
        os.makedirs(self.folder, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            return Check("output folder", MISSING, self.folder, f"another run is using it ({owner})",
                         "wait for it to end, or another --output_dir")
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {os.uname().nodename}\n")
        handle.flush()
        self._handle = handle
        return None

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the descriptor releases the lock
            self._handle = None

    def _close_in_child(self) -> None:
        # The child's descriptor only: the parent's stays open and keeps the lock.
        if self._handle is not None:
            self._handle.close()
            self._handle = None
