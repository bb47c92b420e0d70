"""Release folder and Hub upload, tested at the huggingface_hub API boundary (nothing reaches the Hub).

``HfApi.create_repo`` and ``HfApi.upload_folder`` are replaced by recorders that keep what would be
sent (repository, visibility, token, every file's bytes); everything above them is the real code path,
the Trainer's own ``init_hf_repo`` included.
"""

import json
import logging
from pathlib import Path

import pytest
import torch
import yaml
from helpers.release_tiny import solid_image, tiny_clip, tiny_processor
from huggingface_hub import CommitInfo, HfApi, ModelCard, RepoUrl, get_token
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file
from transformers import CLIPModel, Trainer, TrainingArguments

from fsc_clip_hf.release.convert_open_clip import open_clip_to_hf, read_open_clip
from fsc_clip_hf.release.hub import prepare_release, push_release, release_from_trainer

BASE = "openai/clip-vit-base-patch32"
DATASETS = ["ytaek-oh/laioncoco-subset-100k"]
RESULTS = {
    "summary": {"comp": 54.2, "zs": 55.7, "i2t_r1": 66.3, "t2i_r1": 58.3},
    "benchmarks": {"ARO": 85.1, "SugarCrepe": 85.1},
}
ENV_TOKEN = "hf_envSENTINELtoken0123456789"
EXPLICIT_TOKEN = "hf_argSENTINELtoken0123456789"
PROCESSOR_FILES = {"processor_config.json", "tokenizer.json", "tokenizer_config.json"}
OPEN_CLIP_FILES = {"open_clip_config.json", "open_clip_model.safetensors"}


class FakeHub:
    """Records the calls that would reach the Hub."""

    def __init__(self):
        self.repos: list[dict] = []
        self.uploads: list[dict] = []

    def create_repo(self, api, repo_id, *, token=None, private=None, exist_ok=False, **kwargs):
        self.repos.append({"repo_id": repo_id, "private": private, "exist_ok": exist_ok, "token": token or api.token})
        return RepoUrl(f"https://huggingface.co/{repo_id if '/' in repo_id else 'me/' + repo_id}")

    def upload_folder(self, api, *, repo_id, folder_path, commit_message=None, token=None, **kwargs):
        root = Path(folder_path)
        files = {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}
        self.uploads.append(
            {"repo_id": repo_id, "commit_message": commit_message, "token": token or api.token, "files": files}
        )
        return CommitInfo(commit_url=f"https://huggingface.co/{repo_id}/commit/{'0' * 40}",
                          commit_message=commit_message, commit_description="", oid="0" * 40)


@pytest.fixture
def hub(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", ENV_TOKEN)  # a push without any token is refused before any request
    fake = FakeHub()
    monkeypatch.setattr(HfApi, "create_repo", lambda api, *a, **k: fake.create_repo(api, *a, **k))
    monkeypatch.setattr(HfApi, "upload_folder", lambda api, *a, **k: fake.upload_folder(api, *a, **k))
    return fake


@pytest.fixture
def processor(tmp_path):
    return tiny_processor(tmp_path / "tokenizer")


def _logits(model, processor):
    inputs = processor(text=["a red cat", "a blue square"], images=[solid_image((200, 0, 0)), solid_image((0, 0, 200))],
                       return_tensors="pt", padding=True)
    with torch.no_grad():
        return model(**inputs).logits_per_image


def test_prepare_release_writes_plain_clip_processor_card_and_results(tmp_path, processor):
    class FSCLike(CLIPModel):  # stands for FSCCLIPModel: a subclass with the same tensors
        pass

    model = FSCLike(tiny_clip(processor).config).eval()
    report = tmp_path / "report.md"
    report.write_text("| Comp |\n|---|\n| 54.2 |\n")
    recipe = {"arch": "ViT-B-32", "learning_rate": 5e-6, "hub_token": EXPLICIT_TOKEN, "output_dir": tmp_path}

    folder = prepare_release(tmp_path / "release", model, processor, base_model=BASE, datasets=DATASETS,
                             recipe=recipe, results=RESULTS, result_files=[report], repo_id="me/fsc-tiny")

    names = {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}
    assert names == {"config.json", "model.safetensors", "README.md", "results.json", "recipe.yaml",
                     "eval/report.md", *PROCESSOR_FILES, *OPEN_CLIP_FILES}
    assert json.loads((folder / "config.json").read_text())["architectures"] == ["CLIPModel"]
    weights = load_file(folder / "model.safetensors")
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(weights[name], tensor, rtol=0, atol=0)
    assert json.loads((folder / "results.json").read_text()) == RESULTS
    assert yaml.safe_load((folder / "recipe.yaml").read_text()) == {
        "arch": "ViT-B-32", "learning_rate": 5e-6, "output_dir": str(tmp_path)}
    card = ModelCard.load(folder / "README.md")
    assert card.data.base_model == BASE and card.data.datasets == DATASETS
    assert 'CLIPModel.from_pretrained("me/fsc-tiny")' in card.text
    assert not any(EXPLICIT_TOKEN.encode() in (folder / name).read_bytes() for name in names)


def test_prepare_release_of_a_lora_model_merges_it_and_keeps_the_adapter(tmp_path, processor):
    targets = ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2", "patch_embedding"]
    model = get_peft_model(tiny_clip(processor), LoraConfig(r=4, lora_alpha=1, target_modules=targets))
    torch.manual_seed(1)
    for name, parameter in model.named_parameters():
        if "lora_B" in name:  # zero at init, which would make the merge a no-op
            torch.nn.init.normal_(parameter, std=0.2)
    expected = _logits(model, processor)

    folder = prepare_release(tmp_path / "release", model, processor, base_model=BASE, datasets=DATASETS)

    assert {"adapter_config.json", "adapter_model.safetensors"} <= {p.name for p in (folder / "adapter").iterdir()}
    assert not (folder / "adapter" / "README.md").exists()
    assert isinstance(model, PeftModel) and any("lora_A" in n for n, _ in model.named_parameters()), "input untouched"
    torch.testing.assert_close(_logits(CLIPModel.from_pretrained(folder), processor), expected, rtol=1e-5, atol=1e-5)
    reattached = PeftModel.from_pretrained(tiny_clip(processor), folder / "adapter")
    torch.testing.assert_close(_logits(reattached, processor), expected, rtol=1e-5, atol=1e-5)
    card = ModelCard.load(folder / "README.md")
    assert "lora" in card.data.tags and 'subfolder="adapter"' in card.text


def test_prepare_release_writes_the_same_model_for_open_clip(tmp_path, processor, caplog):
    model = tiny_clip(processor)

    folder = prepare_release(tmp_path / "release", model, processor, base_model=BASE, repo_id="me/fsc-tiny")

    state, model_cfg, preprocess_cfg = read_open_clip(folder)
    back = open_clip_to_hf(state)
    assert back.keys() == model.state_dict().keys()
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(back[name], tensor, rtol=0, atol=0)
    # Not openai's vocabulary: open_clip must read this tokenizer, from the folder or the Hub repository.
    assert model_cfg["text_cfg"]["hf_tokenizer_name"] == "me/fsc-tiny"
    assert model_cfg["vision_cfg"]["head_width"] == 16 and model_cfg["quick_gelu"] is True
    assert preprocess_cfg["size"] == 32 and preprocess_cfg["interpolation"] == "bicubic"

    # A model open_clip cannot express gets no open_clip files (and a warning), never stale ones.
    config = model.config
    config.text_config.layer_norm_eps = 1e-6
    caplog.set_level(logging.WARNING)
    prepare_release(folder, CLIPModel(config), processor, base_model=BASE)
    assert not any((folder / name).exists() for name in OPEN_CLIP_FILES)
    assert "No open_clip files" in caplog.text and "layer_norm_eps" in caplog.text


def test_prepare_release_refuses_a_tokenizer_without_image_processor(tmp_path, processor):
    with pytest.raises(TypeError, match="CLIPProcessor"):
        prepare_release(tmp_path / "release", tiny_clip(processor), processor.tokenizer, base_model=BASE)


def test_push_release_creates_the_repo_and_uploads_every_file(tmp_path, processor, hub):
    folder = prepare_release(tmp_path / "release", tiny_clip(processor), processor, base_model=BASE,
                             results=RESULTS)

    commit = push_release(folder, "me/fsc-tiny", private=True, commit_message="Release")

    assert hub.repos == [{"repo_id": "me/fsc-tiny", "private": True, "exist_ok": True, "token": None}]
    (upload,) = hub.uploads
    assert upload["repo_id"] == "me/fsc-tiny" and upload["commit_message"] == "Release"
    on_disk = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert upload["files"] == on_disk
    assert commit.commit_url.startswith("https://huggingface.co/me/fsc-tiny/commit/")


@pytest.mark.parametrize("hub_token", [None, EXPLICIT_TOKEN], ids=["token-from-HF_TOKEN", "hub_token-argument"])
def test_release_from_trainer_follows_the_trainer_hub_options_and_never_leaks_the_token(
    tmp_path, processor, hub, monkeypatch, caplog, capfd, hub_token
):
    monkeypatch.setenv("HF_TOKEN", ENV_TOKEN)
    caplog.set_level(logging.DEBUG)
    args = TrainingArguments(output_dir=str(tmp_path / "run"), push_to_hub=True, hub_model_id="me/fsc-tiny",
                             hub_private_repo=True, hub_strategy="end", hub_token=hub_token, report_to="none",
                             use_cpu=True)
    trainer = Trainer(model=tiny_clip(processor), args=args, processing_class=processor)
    recipe = {"learning_rate": 5e-6, "neg_loss_weight": 0.5, "hub_token": hub_token}

    folder = release_from_trainer(trainer, base_model=BASE, datasets=DATASETS, recipe=recipe, results=RESULTS)

    assert folder == tmp_path / "run" / "release"
    # The Trainer's own init_hf_repo, then the release: both with the Trainer's visibility and token.
    assert [repo["private"] for repo in hub.repos] == [True, True]
    assert {repo["token"] for repo in hub.repos} == {hub_token}
    (upload,) = hub.uploads
    assert upload["repo_id"] == "me/fsc-tiny" and upload["commit_message"] == "End of training"
    assert {"config.json", "model.safetensors", "README.md", "results.json", "recipe.yaml"} <= set(upload["files"])
    assert PROCESSOR_FILES <= set(upload["files"])
    assert b'"me/fsc-tiny"' in upload["files"]["README.md"]
    if hub_token is None:  # huggingface_hub then authenticates with HF_TOKEN itself
        assert get_token() == ENV_TOKEN

    output = caplog.text + "".join(capfd.readouterr())
    for secret in (ENV_TOKEN, EXPLICIT_TOKEN):
        assert secret not in output
        assert not any(secret.encode() in content for content in upload["files"].values())


def test_release_from_trainer_without_push_to_hub_only_writes_the_folder(tmp_path, processor, hub):
    args = TrainingArguments(output_dir=str(tmp_path / "run"), report_to="none", use_cpu=True)
    trainer = Trainer(model=tiny_clip(processor), args=args, processing_class=processor)

    folder = release_from_trainer(trainer, base_model=BASE, release_dir=tmp_path / "out")

    assert folder == tmp_path / "out" and (folder / "model.safetensors").is_file()
    assert hub.repos == [] and hub.uploads == []
    assert "path/to/checkpoint" in (folder / "README.md").read_text()
