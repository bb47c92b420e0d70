"""Write model_cards/<recipe>.md: the cards of the published FSC-CLIP runs with their published results.

For checkpoints converted from the authors' release (`python -m fsc_clip_hf.release.convert_open_clip`): copy
the matching card into the converted folder as README.md before `push_release`.

    python recipes/make_model_cards.py [--output_dir model_cards]
"""

from pathlib import Path

from fsc_clip_hf.argparsing import ArgumentParser
from fsc_clip_hf.data.sources import HUB_WEBDATASETS
from fsc_clip_hf.training.recipes import load_recipe

RECIPES = Path(__file__).resolve().parent

# The published summary (recipes.md): Comp, ZS, I2T Ret, T2I Ret in percent.
PUBLISHED = {
    "coco_b32": (54.2, 55.7, 66.3, 58.3), "coco_b32_lora": (53.6, 55.5, 65.2, 57.2),
    "cc3m_b32": (53.1, 53.3, 55.6, 54.9), "cc3m_b32_lora": (53.8, 53.6, 56.3, 54.0),
    "laioncoco_b32": (53.5, 55.3, 58.2, 55.5), "laioncoco_b32_lora": (54.2, 55.9, 57.3, 54.3),
    "laioncoco_b16": (54.3, 57.0, 60.1, 59.4), "laioncoco_b16_lora": (54.6, 57.2, 59.9, 58.7),
    "laioncoco_l14": (55.2, 64.0, 64.9, 64.9), "laioncoco_l14_lora": (56.2, 62.2, 64.2, 63.7),
    "dcxl_laioncoco_b32": (52.9, 61.1, 56.8, 53.8), "dcxl_laioncoco_b32_lora": (54.0, 60.7, 56.8, 53.1),
}
# Only coco_b32 has published per-benchmark figures.
COCO_B32_BENCHMARKS = {
    "ARO": 85.1, "CREPE": 42.2, "EqBen": 29.8, "ImageCoDe": 26.3, "SugarCrepe": 85.1, "SVO-Probes": 90.9,
    "VALSE": 75.3, "VL-Checklist": 76.7, "What'sUp": 40.6, "Winoground": 9.5, "SPEC": 34.2,
}


def main() -> None:
    from fsc_clip_hf.release.model_card import build_model_card

    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output_dir", default=str(RECIPES.parent / "model_cards"))
    out = Path(parser.parse_args().output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, (comp, zs, i2t, t2i) in PUBLISHED.items():
        recipe = load_recipe(name, RECIPES)
        results = {"summary": {"comp": comp, "zs": zs, "i2t_r1": i2t, "t2i_r1": t2i}}
        if name == "coco_b32":
            results["benchmarks"] = COCO_B32_BENCHMARKS
        hub = HUB_WEBDATASETS.get(recipe["train_data"])
        card = build_model_card(recipe, results, recipe["model_name_or_path"], [hub[0]] if hub else [],
                                recipe.get("use_lora", False), model_name=f"fsc-clip-{name.replace('_', '-')}")
        card.save(out / f"{name}.md")
        print(f"wrote {out / f'{name}.md'}")


if __name__ == "__main__":
    main()
