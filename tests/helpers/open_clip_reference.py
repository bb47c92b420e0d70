"""The real open_clip's side of tests/test_open_clip_interop.py, run in a subprocess of its own.

open_clip imports torchvision, whose compiled operators do not load beside this torch, and transformers'
image processors stop working in a process where torchvision is importable. So torchvision lives in a
folder of its own (``make install`` puts it in ``.venv/open_clip_torchvision``) that only this process
puts on its path, skipping the registration of those operators (nothing here uses them).

    python tests/open_clip_reference.py WORKDIR TORCHVISION_DIR

reads ``WORKDIR/request.pt`` and writes ``WORKDIR/reference.pt`` (see ``main``).
"""

import sys
import types
from pathlib import Path


def import_open_clip(torchvision_dir: str):
    sys.path.insert(0, torchvision_dir)
    sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
    import open_clip

    return open_clip


def tiny_open_clip(open_clip, request, quick_gelu: bool, seed: int):
    """A tiny open_clip ViT CLIP (64-wide heads, as the converter assumes for bare checkpoints), random
    weights of O(1) activations."""
    import torch

    torch.manual_seed(seed)
    model = open_clip.model.CLIP(
        embed_dim=32, quick_gelu=quick_gelu,
        vision_cfg=dict(image_size=request["image_size"], patch_size=8, width=128, layers=2, head_width=64),
        text_cfg=dict(context_length=77, vocab_size=request["vocab_size"], width=128, heads=2, layers=2),
    )
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name != "logit_scale":
                base = 1.0 if name.endswith("weight") and parameter.ndim == 1 else 0.0
                parameter.copy_(base + 0.05 * torch.randn_like(parameter))
    return model.eval()


def features(model, pixels, ids):
    import torch

    with torch.no_grad():
        return {"image": model.encode_image(pixels), "text": model.encode_text(ids)}


def main(workdir: str, torchvision_dir: str) -> None:
    open_clip = import_open_clip(torchvision_dir)
    import torch
    from PIL import Image

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from authors_lora import add_authors_lora, as_saved_by_the_authors

    work = Path(workdir)
    request = torch.load(work / "request.pt", weights_only=False)
    reference = {"tokens": open_clip.tokenize(request["captions"]), "pixels": {}, "checkpoints": {}, "releases": {}}

    transform = open_clip.image_transform(224, is_train=False)
    for path in sorted((work / "images").iterdir()):
        reference["pixels"][path.name] = transform(Image.open(path))

    for name, quick_gelu, lora in (("quick_gelu", True, False), ("gelu", False, False), ("lora", True, True)):
        model = tiny_open_clip(open_clip, request, quick_gelu, seed=len(name))
        if lora:
            add_authors_lora(model, rank=4, seed=3)  # the authors' layers, unmerged, in the real open_clip
        torch.save(as_saved_by_the_authors(model), work / f"{name}.pt")
        reference["checkpoints"][name] = features(model, request["pixels"], request["ids"])

    for release in request["releases"]:
        model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{work / release}")
        tokenizer = open_clip.get_tokenizer(f"local-dir:{work / release}")
        pixels = torch.stack([preprocess(Image.open(path)) for path in sorted((work / "images").iterdir())])
        ids = tokenizer(request["release_captions"])
        reference["releases"][release] = {"pixels": pixels, "ids": ids, **features(model.eval(), pixels, ids)}
    torch.save(reference, work / "reference.pt")


if __name__ == "__main__":
    main(*sys.argv[1:3])
