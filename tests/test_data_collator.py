"""The FSC collator: batch contract, padding and truncation, negatives, bad samples, DataLoader workers."""

import logging
import pickle
from types import SimpleNamespace

import pytest
import torch
from helpers.data_fixtures import image_bytes, write_image, write_jsonl
from PIL import Image
from transformers import CLIPConfig, CLIPModel, CLIPProcessor

from fsc_clip_hf.data import DataEpochCallback, FSCCollator, SkipStats, load_image_text_dataset
from fsc_clip_hf.data.synthetic import load_synthetic_world, write_synthetic_world


class StubNegatives:
    """The negatives helper's interface: ``.types`` and ``__call__(captions, epoch=...)`` -> K lists.

    "swap" reverses the words; "odd" exists only for every other caption, and only in odd epochs.
    """

    types = ("swap", "odd")

    def __call__(self, captions, epoch=0):
        swap = [" ".join(reversed(c.split())) for c in captions]
        odd = [f"{c} and a star" if epoch % 2 and i % 2 == 0 else None for i, c in enumerate(captions)]
        return [swap, odd]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    write_synthetic_world(str(root), seed=0, num_train=48, num_test=8, image_size=32, shard_size=12)
    return load_synthetic_world(str(root))


@pytest.fixture(scope="module")
def processor(world):
    return CLIPProcessor.from_pretrained(world.processor_dir)


def sample(caption, negatives=None, size=(40, 30)):
    out = {"image": Image.new("RGB", size, (200, 10, 10)), "caption": caption}
    if negatives is not None:
        out["negatives"] = negatives
    return out


def test_batch_contract_and_padding(processor):
    collator = FSCCollator(processor, negative_generator=StubNegatives())
    collator.set_epoch(1)
    captions = ["a red circle", "there is a blue square to the left of a green star", "a star"]
    batch = collator([sample(c) for c in captions])
    B, K = 3, 2
    T = batch["input_ids"].shape[1]
    assert batch["pixel_values"].shape == (B, 3, 32, 32) and batch["pixel_values"].dtype == torch.float32
    assert batch["input_ids"].dtype == torch.int64 and batch["attention_mask"].shape == (B, T)
    assert batch["neg_input_ids"].shape == (K, B, T) and batch["neg_attention_mask"].shape == (K, B, T)
    assert batch["neg_mask"].dtype == torch.bool
    assert batch["neg_mask"].tolist() == [[True, True, True], [True, False, True]]
    # T is the longest text of the batch, captions and negatives alike: 12 words + bos + eos
    assert T == 14 and batch["attention_mask"].sum(1).tolist() == [5, 14, 4]
    # masked negatives repeat the caption's tokens (a valid sequence for the text tower)
    assert torch.equal(batch["neg_input_ids"][1, 1], batch["input_ids"][1])
    tok = processor.tokenizer
    assert tok.decode(batch["neg_input_ids"][0, 0], skip_special_tokens=True) == "circle red a"
    assert tok.decode(batch["neg_input_ids"][1, 2], skip_special_tokens=True) == "a star and a star"


def test_negatives_can_set_the_length(processor):
    class Long:
        types = ("long",)

        def __call__(self, captions, epoch=0):
            return [[c + " and a red circle to the left of a blue square" for c in captions]]

    batch = FSCCollator(processor, negative_generator=Long())([sample("a star")])
    assert batch["input_ids"].shape[1] == batch["neg_input_ids"].shape[2] == 4 + 11
    assert batch["attention_mask"].sum().item() == 4


def test_truncation_to_context_length(processor):
    long_caption = " ".join(["a red circle"] * 40)  # 120 words
    batch = FSCCollator(processor)([sample(long_caption), sample("a star")])
    assert batch["input_ids"].shape == (2, 77)
    assert batch["input_ids"][0, -1].item() == processor.tokenizer.eos_token_id
    batch = FSCCollator(processor, max_length=16)([sample(long_caption)])
    assert batch["input_ids"].shape == (1, 16)
    assert batch["input_ids"][0, -1].item() == processor.tokenizer.eos_token_id


def test_negative_equal_to_caption_after_truncation_is_absent(processor):
    """An edit past the context length leaves the negative's tokens equal to the caption's."""
    long_caption = " ".join(["a red circle"] * 30)  # 90 words: 77 tokens keep the first 75

    class EditAt:
        types = ("early", "late")

        def __call__(self, captions, epoch=0):
            words = [c.split() for c in captions]
            early = [" ".join(["blue"] + w[1:]) for w in words]
            late = [" ".join(w[:-1] + ["star"]) for w in words]
            return [early, late]

    batch = FSCCollator(processor, negative_generator=EditAt())([sample(long_caption), sample("a red circle")])
    assert batch["neg_mask"].tolist() == [[True, True], [False, True]]
    assert torch.equal(batch["neg_input_ids"][1, 0], batch["input_ids"][0])


def test_captions_and_dataset_negatives_normalised_once(processor):
    """What the generator and the tokenizer receive is open_clip's cleaning of the caption."""
    seen = []

    class Recording:
        types = ("same",)

        def __call__(self, captions, epoch=0):
            seen.extend(captions)
            return [list(captions)]

    collator = FSCCollator(processor, negative_generator=Recording(), use_dataset_negatives=True)
    raw = [sample("a red\u00a0circle &amp; a\tstar", ["a blue circle &amp;amp; a star"]),
           sample("\ud83d a red circle", [])]
    batch = collator(raw)
    assert seen == ["a red circle & a star", "\ufffd a red circle"]
    assert batch["neg_mask"].tolist() == [[False, False], [True, False]]  # "same" equals its caption
    tok = processor.tokenizer
    assert tok.decode(batch["neg_input_ids"][1, 0], skip_special_tokens=True) == tok.decode(
        tok("a blue circle & a star")["input_ids"], skip_special_tokens=True)


def test_no_negatives_gives_empty_k(processor):
    batch = FSCCollator(processor)([sample("a star"), sample("a red circle")])
    T = batch["input_ids"].shape[1]
    assert batch["neg_input_ids"].shape == (0, 2, T) and batch["neg_mask"].shape == (0, 2)


def test_dataset_negatives_per_epoch_and_deterministic(processor):
    candidates = [f"a {c} star" for c in ("red", "blue", "green", "pink", "black")]
    samples = [sample("a yellow star", candidates + ["a yellow  star"]), sample("a circle", []),
               sample("a square", ["a square"])]
    collator = FSCCollator(processor, negative_generator=StubNegatives(), use_dataset_negatives=True, seed=5)
    assert collator.negative_types == ("swap", "odd", "precomputed")
    picks = []
    for epoch in range(8):
        collator.set_epoch(epoch)
        batch = collator(samples)
        assert batch["neg_mask"][2].tolist() == [True, False, False]  # empty list; negative equal to caption
        picks.append(processor.tokenizer.decode(batch["neg_input_ids"][2, 0], skip_special_tokens=True))
    assert set(picks) <= set(candidates) and len(set(picks)) > 1
    collator.set_epoch(3)
    again = FSCCollator(processor, negative_generator=StubNegatives(), use_dataset_negatives=True, seed=5)
    again.set_epoch(3)
    assert torch.equal(collator(samples)["neg_input_ids"], again(samples)["neg_input_ids"])


def test_bad_raw_samples_dropped_and_counted(processor, tmp_path):
    stats = SkipStats()
    collator = FSCCollator(processor, skip_stats=stats)
    raw = [{"image": image_bytes(), "caption": "a good one"},
           {"image": b"garbage", "caption": "undecodable"},
           {"image": str(tmp_path / "missing.png"), "caption": "missing"},
           {"image": image_bytes("L"), "caption": b"caf\xe9"},
           {"image": image_bytes(), "caption": "   "}]
    batch = collator(raw)
    assert batch["input_ids"].shape[0] == batch["pixel_values"].shape[0] == 2
    counts = {k: v for k, v in stats.snapshot().items() if v}
    assert counts == {"seen": 5, "undecodable_image": 1, "missing_file": 1, "empty_caption": 1,
                      "image_mode_converted": 1, "caption_recoded": 1}
    empty = FSCCollator(processor, negative_generator=StubNegatives())([{"image": b"x", "caption": "y"}])
    assert empty["pixel_values"].shape == (0, 3, 32, 32) and empty["neg_input_ids"].shape == (2, 0, 0)


def test_train_transform_applied(processor):
    seen = []

    def transform(image, seed):
        seen.append((image.size, seed))
        return image.resize((32, 32))

    FSCCollator(processor, train_transform=transform)([sample("a star"), sample("a circle")])
    assert [size for size, _ in seen] == [(40, 30), (40, 30)] and seen[0][1] != seen[1][1]


def test_batch_runs_through_a_tiny_clip(world, processor):
    text = dict(vocab_size=world.vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                num_attention_heads=2, max_position_embeddings=77, eos_token_id=world.eos_token_id,
                bos_token_id=world.bos_token_id, pad_token_id=world.pad_token_id, projection_dim=16)
    vision = dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                  num_attention_heads=2, projection_dim=16)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)).eval()
    batch = FSCCollator(processor, negative_generator=StubNegatives())(
        [sample("a red circle"), sample("a blue square above a star")])
    with torch.no_grad():
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                    pixel_values=batch["pixel_values"])
        K, B, T = batch["neg_input_ids"].shape
        neg = model.get_text_features(input_ids=batch["neg_input_ids"].reshape(K * B, T),
                                      attention_mask=batch["neg_attention_mask"].reshape(K * B, T))
    assert out.logits_per_image.shape == (2, 2) and torch.isfinite(neg.pooler_output).all()


def test_collator_pickles(processor):
    collator = FSCCollator(processor, negative_generator=StubNegatives())
    clone = pickle.loads(pickle.dumps(collator))
    assert torch.equal(clone([sample("a star")])["input_ids"], collator([sample("a star")])["input_ids"])


def test_dataloader_two_workers_on_synthetic_shards(world, processor):
    data = load_image_text_dataset(world.train_shards, seed=0, shuffle_buffer=16)
    collator = FSCCollator(processor, negative_generator=StubNegatives(), skip_stats=data.skip_stats)
    loader = torch.utils.data.DataLoader(data.dataset, batch_size=8, num_workers=2, collate_fn=collator,
                                         persistent_workers=True)
    for epoch in (0, 1):
        data.dataset.set_epoch(epoch)
        collator.set_epoch(epoch)
        batches = list(loader)
        assert sum(b["input_ids"].shape[0] for b in batches) == world.num_train
        # the epoch set here reached the persistent workers: the "odd" type exists only in odd epochs
        assert any(b["neg_mask"][1].any() for b in batches) == (epoch == 1)
    assert data.skip_stats.snapshot()["seen"] == 2 * world.num_train  # counted inside the workers


def test_dataloader_spawn_workers_share_skip_stats(world, processor, tmp_path):
    write_image(str(tmp_path / "a.png"))
    rows = [{"image": "a.png", "caption": f"caption {i}"} for i in range(6)] + [{"image": "gone.png", "caption": "x"}]
    data = load_image_text_dataset(write_jsonl(str(tmp_path / "t.jsonl"), rows), shuffle_buffer=0)
    collator = FSCCollator(processor, skip_stats=data.skip_stats)
    loader = torch.utils.data.DataLoader(data.dataset, batch_size=4, num_workers=1, collate_fn=collator,
                                         multiprocessing_context="spawn")
    assert sum(b["input_ids"].shape[0] for b in loader) == 6
    assert data.skip_stats.snapshot()["missing_file"] == 1


def test_epoch_callback_sets_collator_epoch_and_logs_per_epoch_counts(processor, caplog):
    stats = SkipStats()
    collator = FSCCollator(processor, skip_stats=stats)
    callback = DataEpochCallback(stats, collator)
    args, state = SimpleNamespace(process_index=1), SimpleNamespace(epoch=0.0, global_step=0)
    caplog.set_level(logging.INFO, logger="fsc_clip_hf.data.callbacks")
    callback.on_train_begin(args, state, None)
    for epoch in range(2):
        callback.on_epoch_begin(args, state, None)
        assert collator.epoch == epoch
        stats.seen(10)
        stats.count("empty_caption", n=epoch + 1)
        callback.on_epoch_end(args, state, None)
    callback.on_train_end(args, state, None)
    lines = [r.getMessage() for r in caplog.records if r.name == "fsc_clip_hf.data.callbacks"]
    assert lines[0].startswith("data, epoch 0, process 1: 10 samples seen; skipped 1 (10.00%) [empty_caption=1]")
    assert lines[1].startswith("data, epoch 1, process 1: 10 samples seen; skipped 2 (20.00%) [empty_caption=2]")
    assert lines[2].startswith("data, whole run, process 1: 20 samples seen; skipped 3")
