"""``open_clip:<model>:<pretrained>``: an open_clip CLIP named as open_clip names it, converted in memory.

``recipes/eval.py --model_name_or_path`` takes this form beside Hub ids and folders, so that open_clip
releases (the FSC-CLIP authors' checkpoints, LAION's, DataComp's, ...) are scored without a conversion step:

* ``<pretrained>`` is a checkpoint file or open_clip folder (anything :func:`.checkpoint.read_open_clip`
  reads), or one of open_clip's pretrained tags for ``<model>`` (``openai``, ``laion2b_s34b_b79k``, ...),
  whose weights open_clip's own registry locates and fetches (Hub cache first; ``HF_HUB_OFFLINE=1`` works
  from the cache);
* ``<model>`` decides the MLP activation as open_clip 3's configurations do: QuickGELU for the names
  ending in ``-quickgelu`` (or a tag open_clip marks ``quick_gelu``, such as ``openai``), GELU otherwise.
  The FSC-CLIP authors' checkpoints, fine-tuned from openai's CLIP, are therefore
  ``open_clip:ViT-B-32-quickgelu:coco_fsc-clip-ViT-B-32.pt``. For a file, a ``<model>`` of ``ViT-B-32``,
  ``ViT-B-16`` or ``ViT-L-14`` (with or without ``-quickgelu``) is also checked against the weights' shapes.

open_clip's registry is its module ``pretrained`` (with ``constants`` and ``version``), read from the installed
``open_clip_torch`` without importing the package: the package imports torchvision, which need not load
beside this torch (``tests/helpers/open_clip_reference.py``). A pretrained tag therefore needs
``open_clip_torch`` installed (``pip install --no-deps open_clip_torch``); a file does not.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types

from transformers import CLIPModel, CLIPProcessor

from .checkpoint import hf_clip_from_open_clip
from .configs import ARCHITECTURES

PREFIX = "open_clip:"
QUICK_GELU_SUFFIX = "-quickgelu"
_REGISTRY = "_fsc_clip_hf_open_clip_registry"  # where open_clip's pretrained module is loaded, alone


class OpenClipSpecError(ValueError):
    """An ``open_clip:`` spec that names nothing loadable; the message says what to pass instead."""


def is_open_clip_spec(name: str) -> bool:
    return name.startswith(PREFIX)


def parse_open_clip_spec(spec: str) -> tuple[str, str]:
    """``(model, pretrained)`` of ``open_clip:<model>:<pretrained>`` (a path may hold further colons)."""
    model, _, pretrained = spec.removeprefix(PREFIX).partition(":")
    if not model or not pretrained:
        raise OpenClipSpecError(f"{spec!r}: expected open_clip:<model>:<pretrained tag or checkpoint file>, "
                                "e.g. open_clip:ViT-B-32-quickgelu:openai")
    return model, pretrained


def describe_open_clip_spec(spec: str) -> str:
    """What ``spec`` names, looked up without loading or fetching anything ("open_clip checkpoint file ...").

    Raises:
        OpenClipSpecError: it names no file and no pretrained tag of its model (the message says which exist).
    """
    model, pretrained = parse_open_clip_spec(spec)
    activation = "QuickGELU" if model.endswith(QUICK_GELU_SUFFIX) else "GELU"
    if os.path.exists(pretrained):
        return f"open_clip checkpoint file, {model} ({activation}), converted in memory"
    if os.sep in pretrained or pretrained.endswith((".pt", ".pth", ".bin", ".safetensors")):
        raise OpenClipSpecError(f"{spec}: no such checkpoint file {pretrained}")
    registry = _open_clip_registry(model, pretrained)
    config = registry.get_pretrained_cfg(model, pretrained)
    if not config:
        tags = registry.list_pretrained_tags_by_model(model)
        known = f"its tags: {', '.join(tags)}" if tags else "open_clip has no pretrained weights of that name"
        raise OpenClipSpecError(f"{spec}: {pretrained!r} is neither a file nor a pretrained tag of {model!r} ({known})")
    if config.get("quick_gelu"):
        activation = "QuickGELU"
    return f"open_clip's pretrained {model} {pretrained} ({activation}), fetched and converted at start"


def load_open_clip(spec: str, processor: str | None = None) -> tuple[CLIPModel, CLIPProcessor]:
    """The Hugging Face CLIP and processor (open_clip's pixels) of ``open_clip:<model>:<pretrained>``.

    ``processor``: a folder or Hub id to take the tokenizer from (default: openai's CLIP tokenizer).
    """
    model, pretrained = parse_open_clip_spec(spec)
    quick_gelu = model.endswith(QUICK_GELU_SUFFIX)
    arch = model.removesuffix(QUICK_GELU_SUFFIX)
    if os.path.exists(pretrained):
        path, preprocess = pretrained, None
        arch = arch if arch in ARCHITECTURES else None
    else:
        path, preprocess = pretrained_tag(model, pretrained)
        quick_gelu = quick_gelu or bool(preprocess.get("quick_gelu"))
        arch = None  # the registry's own weights of that model
    try:
        return hf_clip_from_open_clip(path, arch=arch, hidden_act="quick_gelu" if quick_gelu else "gelu",
                                      processor=processor, preprocess=preprocess)
    except (OSError, ValueError) as error:  # not a checkpoint, not that architecture, an unreadable file
        raise OpenClipSpecError(f"{spec}: {error}") from None


def pretrained_tag(model: str, tag: str) -> tuple[str, dict]:
    """The local weights file of open_clip's pretrained ``tag`` for ``model`` (fetched through its registry)
    and the tag's configuration (``mean``, ``std``, ``quick_gelu``, ...)."""
    describe_open_clip_spec(f"{PREFIX}{model}:{tag}")  # an unknown tag: the tags there are
    registry = _open_clip_registry(model, tag)
    config = registry.get_pretrained_cfg(model, tag)
    if (config.get("interpolation", "bicubic"), config.get("resize_mode", "shortest")) != ("bicubic", "shortest"):
        raise OpenClipSpecError(f"open_clip:{model}:{tag}: its preprocessing ({config.get('interpolation')}, "
                                f"{config.get('resize_mode')}) is not open_clip's bicubic shortest-side resize, "
                                "the only one converted here")
    try:
        path = registry.download_pretrained(config)
    except Exception as error:  # noqa: BLE001 - offline, absent from the cache, network: all mean "not here"
        raise OpenClipSpecError(f"open_clip:{model}:{tag}: its weights could not be fetched ({error}); "
                                "pass the checkpoint file instead (open_clip:<model>:<file>)") from None
    if not path:
        raise OpenClipSpecError(f"open_clip:{model}:{tag}: open_clip's registry gives no weights for it")
    return path, config


def _open_clip_registry(model: str, tag: str):
    """open_clip's ``pretrained`` module, loaded without the package's ``__init__`` (module docstring)."""
    if _REGISTRY not in sys.modules:
        spec = importlib.util.find_spec("open_clip")
        if spec is None or not spec.submodule_search_locations:
            raise OpenClipSpecError(f"open_clip:{model}:{tag}: a pretrained tag needs open_clip's registry: "
                                    "pip install --no-deps open_clip_torch (or pass the checkpoint file)")
        package = types.ModuleType(_REGISTRY)
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules[_REGISTRY] = package
    return importlib.import_module(f"{_REGISTRY}.pretrained")
