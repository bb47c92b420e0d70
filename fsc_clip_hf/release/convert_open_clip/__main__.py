"""``python -m fsc_clip_hf.release.convert_open_clip``: open_clip → Hugging Face CLIP, or back with ``--to_open_clip``."""

from __future__ import annotations

import logging

from ...argparsing import ArgumentParser
from ...lora.authors_merge import DEFAULT_ALPHA
from .checkpoint import OPEN_CLIP_CONFIG, OPEN_CLIP_WEIGHTS, convert_checkpoint, convert_to_open_clip
from .configs import ARCHITECTURES, HIDDEN_ACTS


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(
        prog="python -m fsc_clip_hf.release.convert_open_clip",
        description="Convert an open_clip CLIP checkpoint (e.g. the FSC-CLIP authors' releases, LoRA ones "
                    "included) to a Hugging Face CLIP folder, or, with --to_open_clip, add open_clip's files "
                    "to a Hugging Face CLIP folder.",
    )
    parser.add_argument("src", help="open_clip checkpoint (.pt, .bin, .safetensors) or folder with "
                                    f"{OPEN_CLIP_CONFIG}; with --to_open_clip: a Hugging Face CLIP folder")
    parser.add_argument("dst", nargs="?", help="output folder (with --to_open_clip: default SRC itself)")
    parser.add_argument("--to_open_clip", action="store_true",
                        help=f"write {OPEN_CLIP_CONFIG} and {OPEN_CLIP_WEIGHTS} of the Hugging Face model SRC")
    parser.add_argument("--repo_id", help="with --to_open_clip: the Hub repository the folder goes to "
                                          "(where open_clip looks for a tokenizer other than openai's)")
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), help="check the checkpoint against this architecture")
    parser.add_argument("--hidden_act", choices=HIDDEN_ACTS, default="quick_gelu",
                        help="MLP activation: quick_gelu for openai-initialised models (default), gelu for DataComp")
    parser.add_argument("--processor", "--tokenizer", dest="processor",
                        help="CLIPProcessor/CLIPTokenizer folder or Hub id to take the tokenizer from "
                             "(default: openai's CLIP tokenizer, shipped with this package)")
    parser.add_argument("--lora_alpha", type=float, default=DEFAULT_ALPHA,
                        help="alpha of the authors' LoRA layers (scaling alpha/r), for LoRA checkpoints")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    if args.to_open_clip:
        dst = convert_to_open_clip(args.src, args.dst, repo_id=args.repo_id)
        print(f"Wrote {OPEN_CLIP_CONFIG} and {OPEN_CLIP_WEIGHTS} to {dst}: "
              f"open_clip.create_model_and_transforms('local-dir:{dst}')")
        return
    if args.dst is None:
        parser.error("the output folder DST is required")
    dst = convert_checkpoint(args.src, args.dst, arch=args.arch, hidden_act=args.hidden_act, processor=args.processor,
                             lora_alpha=args.lora_alpha, overwrite=args.overwrite)
    print(f"Wrote the Hugging Face CLIP checkpoint (weights, config, tokenizer, open_clip pixels) to {dst}")


if __name__ == "__main__":
    main()
