"""``python -m fsc_clip_hf.release push FOLDER --repo_id ID``: upload a release folder (``final/`` of a run)."""

from __future__ import annotations

import logging
import sys

from ..argparsing import ArgumentParser
from .hub import PushFailed, push_release


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m fsc_clip_hf.release", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    push = sub.add_parser("push", help="upload a release folder to the Hub as one commit")
    push.add_argument("folder", help="the release folder: final/ of a run, or one written by prepare_release")
    push.add_argument("--repo_id", required=True, help="namespace/name, or a name in the token owner's namespace")
    push.add_argument("--private", action="store_true", help="make a new repository private")
    push.add_argument("--revision", default=None, help="the branch to commit to (default: main)")
    push.add_argument("--commit_message", default="Upload FSC-CLIP model")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        commit = push_release(args.folder, args.repo_id, private=args.private or None, revision=args.revision,
                              commit_message=args.commit_message)
    except PushFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"pushed {args.folder} to {commit.commit_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
