"""Published results the report compares a model with (all from the seed's recipes.md, in percent).

Only what is published is recorded: the pretrained openai ViT-B/32 and NegCLIP (COCO) have no Comp
(mean over the 11 benchmarks) in the seed, so the plot shows them by their ZS alone.
"""

from __future__ import annotations

# recipe: (Comp, ZS, I2T Ret, T2I Ret)
FSC_CLIP_RESULTS = {
    "coco_b32": (54.2, 55.7, 66.3, 58.3),
    "coco_b32_lora": (53.6, 55.5, 65.2, 57.2),
    "cc3m_b32": (53.1, 53.3, 55.6, 54.9),
    "cc3m_b32_lora": (53.8, 53.6, 56.3, 54.0),
    "laioncoco_b32": (53.5, 55.3, 58.2, 55.5),
    "laioncoco_b32_lora": (54.2, 55.9, 57.3, 54.3),
    "laioncoco_b16": (54.3, 57.0, 60.1, 59.4),
    "laioncoco_b16_lora": (54.6, 57.2, 59.9, 58.7),
    "laioncoco_l14": (55.2, 64.0, 64.9, 64.9),
    "laioncoco_l14_lora": (56.2, 62.2, 64.2, 63.7),
    "dcxl_laioncoco_b32": (52.9, 61.1, 56.8, 53.8),
    "dcxl_laioncoco_b32_lora": (54.0, 60.7, 56.8, 53.1),
}

# Per-benchmark figures of coco_b32, by benchmark title (Winoground: group score).
COCO_B32_BENCHMARKS = {
    "ARO": 85.1, "CREPE": 42.2, "EqBen": 29.8, "ImageCoDe": 26.3, "SugarCrepe": 85.1, "SVO-Probes": 90.9,
    "VALSE": 75.3, "VL-CheckList": 76.7, "What'sUp": 40.6, "Winoground": 9.5, "SPEC": 34.2,
}

# Reference models of the same evaluation suite (the authors' companion study); no Comp published.
REFERENCE_MODELS = {
    "pretrained openai ViT-B/32": {"zs": 57.1, "i2t_r1": 64.5, "t2i_r1": 44.6, "ARO": 57.6, "SugarCrepe": 73.0,
                                   "Winoground": 8.75},
    "NegCLIP (COCO)": {"zs": 55.9, "i2t_r1": 72.5, "t2i_r1": 58.4, "ARO": 80.9, "SugarCrepe": 83.7,
                       "Winoground": 8.0},
}
