"""Writing a candidate cache (:mod:`.cache` reads it): ``python -m fsc_clip_hf.negatives precompute``.

Every distinct caption of a corpus is parsed once, in chunks that each end with a marker, inside
``.<name>.partial/`` beside the output; the finished cache is renamed into place. An interrupted run
resumes from its finished chunks when rerun with the same input and options (else it starts clean).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

from .cache import CACHE_FORMAT_VERSION, CAPTIONS_TABLE, LEXICON_TABLE, MANIFEST, VOCABULARY, caption_key, file_sizes
from .corpus import read_captions

logger = logging.getLogger(__name__)

_JOB = "job.json"
DEFAULT_CHUNK_SIZE = 100_000


# Per worker process: one generator, built on first use (datasets.map pickles the function, not
# the generator), and the lexicon keys this process has already sent during the current run.
_WORKER = {"config": None, "generator": None, "run": None, "sent": set()}


def _candidate_rows(batch, generator_kwargs: dict, run: str) -> dict:
    """datasets.map function: parse a batch of captions and serialise their candidates. The new
    lexicon entries that this worker has not sent yet in this ``run`` ride along in the batch's
    first row."""
    from .generator import HardNegativeGenerator
    from .replace import FIXED_POS

    config = json.dumps(generator_kwargs, sort_keys=True)
    if _WORKER["config"] != config:
        _WORKER.update(config=config, generator=HardNegativeGenerator(**generator_kwargs))
    if _WORKER["run"] != run:
        # A new run (forked workers inherit the parent's state): every entry must be sent again.
        _WORKER.update(run=run, sent=set())
    gen, sent = _WORKER["generator"], _WORKER["sent"]
    captions = batch["caption"]
    built = gen.build_candidates(captions)
    entries = []
    for candidates in built:
        replace = candidates.get("replace", [])
        for pos, lemma in zip(replace[2::5], replace[3::5]):
            key = f"{pos}:{lemma}"
            if pos not in FIXED_POS and key not in sent:
                sent.add(key)
                words, cumulative = gen.wordnet_candidates(pos, lemma)
                entries.append([key, list(words), list(cumulative)])
    lexicon = [""] * len(captions)
    if entries and captions:
        lexicon[0] = json.dumps(entries)
    return {"key": [caption_key(c) for c in captions],
            "candidates": [json.dumps(c, separators=(",", ":")) for c in built],
            "lexicon": lexicon}


def _job_description(input_path: Path, caption_column: str, generator_kwargs: dict, chunk_size: int) -> dict:
    """What a partial run was doing: a rerun resumes only the very same job."""
    stat = input_path.stat()
    return {"format_version": CACHE_FORMAT_VERSION, "input": str(input_path.resolve()), "input_size": stat.st_size,
            "input_mtime_ns": stat.st_mtime_ns, "caption_column": caption_column, "generator": generator_kwargs,
            "chunk_size": chunk_size}


def _prepare_work_dir(work: Path, job: dict) -> None:
    """Keep a partial folder of the same job (resume), otherwise start it afresh."""
    if work.exists():
        try:
            same = json.loads((work / _JOB).read_text()) == job
        except (OSError, ValueError):
            same = False
        if same:
            done = sorted(p.name for p in (work / "chunks").glob("*.done"))
            logger.info("resuming the interrupted precompute in %s (%d chunks done)", work, len(done))
            return
        logger.info("removing %s, left by an interrupted precompute of another input or options", work)
        shutil.rmtree(work)
    (work / "chunks").mkdir(parents=True)
    (work / _JOB).write_text(json.dumps(job, indent=2) + "\n")


def _write_lexicon(lexicon: dict, folder: Path) -> None:
    import datasets

    keys = sorted(lexicon)
    datasets.Dataset.from_dict({
        "key": keys,
        "words": [lexicon[k][0] for k in keys],
        "cumulative": [lexicon[k][1] for k in keys],
    }, features=datasets.Features({
        "key": datasets.Value("string"),
        "words": datasets.Sequence(datasets.Value("string")),
        "cumulative": datasets.Sequence(datasets.Value("int64")),
    })).save_to_disk(str(folder))


def _install(built: Path, output_dir: Path, work: Path) -> None:
    """Move the finished cache ``built`` to ``output_dir``, replacing a previous cache there."""
    if output_dir.exists():
        if not (output_dir / MANIFEST).is_file() and any(output_dir.iterdir()):
            raise FileExistsError(f"{output_dir} exists and is not a hard-negative cache: choose another --output")
        output_dir.rename(work / f"previous-{uuid.uuid4().hex}")
    built.rename(output_dir)


def precompute(input_path: str | Path, output_dir: str | Path, caption_column: str = "caption",
               style: str = "fsc-clip", num_proc: int = 1, spacy_model: str = "en_core_web_sm",
               batch_size: int = 256, chunk_size: int = DEFAULT_CHUNK_SIZE, **options) -> Path:
    """Parse every distinct caption of ``input_path`` (in ``num_proc`` processes) and write a
    cache directory that ``HardNegativeGenerator(..., cache_dir=output_dir)`` reads.

    ``options``: the generator's candidate options (``options.CANDIDATE_OPTIONS``).
    Interrupted, a rerun of the same command resumes from the last finished chunk.
    """
    import datasets

    from .generator import HardNegativeGenerator
    from .resources import spacy_package_name
    from .vocabulary import Vocabulary

    generator_kwargs = {"style": style, "spacy_model": spacy_model, **options}
    probe = HardNegativeGenerator(**generator_kwargs)  # fails early on missing resources or bad options
    input_path, output_dir = Path(input_path), Path(output_dir)
    captions = list(dict.fromkeys(read_captions(input_path, caption_column)))
    if not captions:
        raise ValueError(f"{input_path} has no captions (column {caption_column!r}): nothing to precompute")
    work = output_dir.parent / f".{output_dir.name}.partial"
    _prepare_work_dir(work, _job_description(input_path, caption_column, generator_kwargs, chunk_size))
    chunks = []
    for number, start in enumerate(range(0, len(captions), chunk_size)):
        folder, marker = work / "chunks" / f"{number:05d}", work / "chunks" / f"{number:05d}.done"
        if not marker.exists():
            shutil.rmtree(folder, ignore_errors=True)
            table = datasets.Dataset.from_dict({"caption": captions[start:start + chunk_size]})
            table = table.map(_candidate_rows, batched=True, batch_size=batch_size,
                              num_proc=num_proc if num_proc > 1 and len(table) > 1 else None,
                              fn_kwargs={"generator_kwargs": generator_kwargs, "run": uuid.uuid4().hex},
                              desc=f"hard-negative candidates, chunk {number + 1}")
            table.save_to_disk(str(folder))
            marker.touch()
        chunks.append(datasets.load_from_disk(str(folder)))
    table = datasets.concatenate_datasets(chunks)
    lexicon: dict[str, tuple[list, list]] = {}
    for serialised in table["lexicon"]:
        if serialised:
            for key, words, cumulative in json.loads(serialised):
                lexicon[key] = (words, cumulative)
    # Sorted by key for searchsorted look-ups.
    table = table.remove_columns("lexicon")
    table = table.select(np.argsort(np.asarray(table["key"], dtype=np.int64), kind="stable")).flatten_indices()
    built = work / "cache"
    shutil.rmtree(built, ignore_errors=True)
    built.mkdir()
    table.save_to_disk(str(built / CAPTIONS_TABLE))
    _write_lexicon(lexicon, built / LEXICON_TABLE)
    Vocabulary.from_captions(captions).save(built / VOCABULARY)
    manifest = {
        "format_version": CACHE_FORMAT_VERSION,
        "style": style,
        "parts": list(probe.parts),
        "options": probe.candidate_options,
        "spacy_model": spacy_model,
        "spacy_package": spacy_package_name(spacy_model) or spacy_model,
        "num_captions": len(captions),
        "num_lexicon_entries": len(lexicon),
        "source": str(input_path),
        "files": file_sizes(built),
    }
    (built / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    _fsync_tree(built)
    _install(built, output_dir, work)
    shutil.rmtree(work)
    return output_dir


def _fsync_tree(folder: Path) -> None:
    """Flush every file of ``folder`` to disk before it is renamed into place."""
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
