"""Headless Chromium for the tests that render a page (``recipes/eval.py --html``), from Debian's ``chromium``.

    python tests/helpers/chromium.py install     # make install: apt-get, as WordNet is installed (idempotent)

Installing needs root and apt-get; where either is missing the command says so and exits 0, and the tests
that need the browser are skipped with that reason (:func:`unavailable`).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGE = "chromium"
NAMES = ("chromium", "chromium-browser")


def executable() -> str | None:
    return next((path for name in NAMES if (path := shutil.which(name))), None)


def installable() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def unavailable() -> str | None:
    """Why the browser cannot be used here, or None when it can."""
    if executable():
        return None
    if not installable():
        return (f"Debian's {PACKAGE} is not installed and cannot be here (needs root and apt-get): "
                f"apt-get install {PACKAGE}")
    return f"Debian's {PACKAGE} is not installed: make install (or python tests/helpers/chromium.py install)"


def dump_dom(url: str, timeout: float = 60) -> str:
    """The page's DOM after its scripts ran, as headless Chromium serialises it."""
    command = [executable(), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", url]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True).stdout


def install() -> int:
    if executable():
        print(f"[chromium] {executable()}")
        return 0
    if not installable():
        print(f"[chromium] not installed: {unavailable()}; the page-rendering tests will be skipped")
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from fsc_clip_hf.negatives.resources import apt_install

    apt_install([PACKAGE])
    print(f"[chromium] installed: {executable()}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        sys.exit(__doc__)
    sys.exit(install())
