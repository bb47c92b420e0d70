"""The first hour of a user, command by command: each test runs what the user types (recipes/train.py,
accelerate launch, python -m ...) in a subprocess and checks its exit status, its words, that no Python
traceback shows, and what is (and is not) left on disk.

Exit statuses: 2, the command refused to start (recipe, options, pre-flight); 1, it started and could not
do what it was asked (no data to train on, the upload failed).
"""

import csv
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from helpers.bad_corpora import csv_corpus, webdataset_corpus
from helpers.commands import EVAL, TRAIN, assert_no_traceback, fake_hub, offline_env, output, python, run
from helpers.data_fixtures import write_image
from helpers.repo import REPO
from helpers.world import assert_same_weights, final_weights, local_run


def train(world, out, *extra):
    return python(TRAIN, *local_run(world, out, "--loss_name", "clip", "--disable_tqdm", "true", *extra))


# --------------------------------------------------------------------------------------------- options


@pytest.mark.parametrize("option, value, message", [
    ("--learning_rate", "-1e-4", "learning_rate: -0.0001 is negative (allowed: > 0)"),
    ("--lora_r", "0", "lora_r: 0 is below 1 (allowed: >= 1)"),
    ("--focal_gamma", "-1", "focal_gamma: -1.0 is negative (allowed: >= 0)"),
    ("--neg_label_smoothing", "1", "neg_label_smoothing: 1.0 is not below 1 (allowed: >= 0 and < 1, or null)"),
    ("--dataloader_num_workers", "-2", "dataloader_num_workers: -2 is negative (allowed: >= 0)"),
    ("--save_total_limit", "0", "save_total_limit: 0 is below 1 (allowed: >= 1, or null)"),
    ("--per_device_train_batch_size", "0", "per_device_train_batch_size: 0 is below 1 (allowed: >= 1)"),
])
def test_a_value_that_cannot_work_is_refused_before_anything_loads(tmp_path, option, value, message):
    out = tmp_path / "out"
    started = time.monotonic()
    done = run(python(TRAIN, "--config", "demo", "--output_dir", str(out), f"{option}={value}"), offline_env(tmp_path))
    assert done.returncode == 2 and f"error: the command line: {message}" in done.stdout, output(done)
    assert_no_traceback(done)
    assert not out.exists()  # nothing created for a refused run
    assert time.monotonic() - started < 60


def test_a_misspelt_option_is_named_with_the_nearest_one(tmp_path):
    done = run(python(TRAIN, "--config", "demo", "--neg_loss_wieght", "0.5"), offline_env(tmp_path))
    assert done.returncode == 2, output(done)
    assert "error: the command line: unknown option --neg_loss_wieght (did you mean --neg_loss_weight?)" in done.stdout
    recipe = tmp_path / "mine.yaml"
    recipe.write_text("train_data: data.csv\nneg_loss_wieght: 0.5\n")
    done = run(python(TRAIN, "--config", str(recipe)), offline_env(tmp_path))
    assert done.returncode == 2
    assert f"error: recipe {recipe}: unknown option 'neg_loss_wieght' (did you mean neg_loss_weight?)" in done.stdout
    assert_no_traceback(done)


def test_a_recipe_is_found_by_its_bare_name_from_any_folder(tmp_path):
    for name in ("laioncoco_b32", "laioncoco_b32.yaml"):
        done = run(python(TRAIN, "--config", name, "--print_config"), offline_env(tmp_path), cwd=tmp_path)
        assert done.returncode == 0, output(done)
        assert done.stdout.startswith(f"# resolved from {REPO / 'recipes' / 'laioncoco_b32.yaml'}")
    done = run(python(TRAIN, "--config", "laioncoco_b3"), offline_env(tmp_path), cwd=tmp_path)
    assert done.returncode == 2 and "recipe 'laioncoco_b3' not found" in done.stdout and "laioncoco_b32" in done.stdout


# --------------------------------------------------------------------------------------------- launchers


@pytest.mark.slow
def test_accelerate_launch_shows_the_preflight_table_once(tmp_path):
    """accelerate launch ends a failed script with its own CalledProcessError (exit 1); the table shows once
    and nothing of ours follows it (about 15 s)."""
    accelerate = str(Path(python()[0]).with_name("accelerate"))
    done = run([accelerate, "launch", "--num_processes", "1", TRAIN, "--config", "laioncoco_b32", "--output_dir",
                str(tmp_path / "out")], offline_env(tmp_path), cwd=tmp_path)
    assert done.returncode == 1, output(done)
    assert output(done).count("pre-flight: ") == 1 and output(done).count("MISSING  model") == 1
    assert f'File "{TRAIN}"' not in output(done) and "fsc_clip_hf" not in done.stderr.split("Traceback")[-1]
    # The same command with python (or torchrun) gives our status, and no traceback at all.
    done = run(python(TRAIN, "--config", "laioncoco_b32", "--output_dir", str(tmp_path / "out")), offline_env(tmp_path))
    assert done.returncode == 2 and "pre-flight: " in done.stdout
    assert_no_traceback(done)


# --------------------------------------------------------------------------------------------- interruption


@pytest.mark.slow
def test_a_killed_run_with_loader_workers_resumes_at_once_to_the_same_weights(world, tmp_path):
    """A run with 2 DataLoader workers is killed (SIGKILL) after its checkpoint at step 2; the resume starts
    within a second, its workers' copies of the folder lock notwithstanding, and ends with the weights of
    the run that was never stopped (about 60 s)."""
    steps = ("--max_steps", "6", "--save_strategy", "steps", "--save_steps", "2", "--dataloader_num_workers", "2")
    env = offline_env(tmp_path)
    whole = run(train(world, tmp_path / "whole", *steps), env)
    assert whole.returncode == 0, output(whole)

    out = tmp_path / "killed"
    process = subprocess.Popen(train(world, out, *steps), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=lambda: os.umask(0o022))
    deadline = time.monotonic() + 300
    while not (out / "checkpoint-2" / "checkpoint_complete").exists():
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before its first checkpoint"
        time.sleep(0.05)
    workers = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = time.monotonic()
    resumed = subprocess.Popen(train(world, out, *steps, "--resume_from_checkpoint", "last"), env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert time.monotonic() - killed_at < 1
    text, _ = resumed.communicate(timeout=300)
    assert workers, "the run had no loader workers alive when it was killed"
    assert resumed.returncode == 0 and "another run is using it" not in text, text[-3000:]
    assert_same_weights(final_weights(out), final_weights(tmp_path / "whole"), atol=1e-6)


# --------------------------------------------------------------------------------------------- bad data


def _table(folder: Path, good: int, missing: int) -> Path:
    """A CSV of ``good`` rows whose images exist and ``missing`` rows whose images do not."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "pairs.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "caption"])
        for i in range(good + missing):
            if i < good:
                write_image(str(folder / f"img{i}.png"))
            writer.writerow([f"img{i}.png", f"a red circle number {i}"])
    return folder / "pairs.csv"


def _table_run(world, table, out, *extra):
    return python(TRAIN, *local_run(world, out, "--train_data", str(table), "--image_column", "image",
                                    "--caption_column", "caption", "--loss_name", "clip", "--max_steps", "2",
                                    "--per_device_train_batch_size", "4", *extra))


@pytest.mark.slow
def test_a_run_that_reads_nothing_fails_and_writes_no_release(world, tmp_path):
    table = _table(tmp_path / "data", good=0, missing=12)
    done = run(_table_run(world, table, tmp_path / "out"), offline_env(tmp_path))
    assert done.returncode == 1, output(done)
    assert f"error: train_data {table}: " in done.stdout and "skipped 12 (100.00%) [missing_file=12]" in done.stdout
    assert_no_traceback(done)
    assert not (tmp_path / "out" / "final").exists()


@pytest.mark.slow
def test_a_run_that_skips_too_much_stops_at_the_end_of_its_first_epoch(world, tmp_path):
    """8 of 12 images exist: a third skipped stops the run by default (max_skipped_fraction 0.1), and runs
    with a warning per epoch when the bound allows it (about 20 s)."""
    table = _table(tmp_path / "data", good=8, missing=4)
    done = run(_table_run(world, table, tmp_path / "out", "--max_steps", "5"), offline_env(tmp_path))
    assert done.returncode == 1, output(done)
    assert "more than max_skipped_fraction=0.1 of the samples were skipped" in done.stdout
    assert "data, epoch 0, process 0: 12 samples seen; skipped 4 (33.33%) [missing_file=4]" in done.stdout
    assert not (tmp_path / "out" / "final").exists()
    done = run(_table_run(world, table, tmp_path / "out2", "--max_steps", "4", "--max_skipped_fraction", "0.5"),
               offline_env(tmp_path))  # 2 epochs of 2 batches
    assert done.returncode == 0, output(done)
    warnings = [line for line in done.stderr.splitlines() if "WARNING" in line and "data, epoch" in line]
    assert len(warnings) == 2 and all("skipped 4 (33.33%) [missing_file=4]" in line for line in warnings)


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["csv", "webdataset"])
def test_the_bad_input_corpus_trains_with_the_demo_recipe_as_it_is(world, tmp_path, layout):
    """The demo recipe's negatives (fsc-clip, replace_vocabulary: corpus) over a corpus of every kind of bad
    sample, one caption not UTF-8 among them: counted and repaired, never a UnicodeDecodeError (about 30 s
    each). The shards are no caption file, so their vocabulary comes from a caption file with the same bad
    byte. The corpora are mostly bad by design, so the skipped share is allowed."""
    if layout == "csv":
        source, _, _ = csv_corpus(tmp_path)
        extra = ["--image_column", "image", "--caption_column", "caption"]
    else:
        (tmp_path / "shards").mkdir()
        source, _, _ = webdataset_corpus(tmp_path / "shards")
        vocabulary = tmp_path / "captions.txt"
        vocabulary.write_bytes(b"caf\xe9 on a table\na red circle above a blue square\n")
        extra = ["--replace_vocabulary_file", str(vocabulary)]
    argv = python(TRAIN, "--config", "demo", "--model_name_or_path", world["model"], "--processor_name_or_path",
                  world["processor"], "--train_data", source, *extra, "--output_dir", str(tmp_path / "out"),
                  "--max_steps", "2", "--per_device_train_batch_size", "8", "--max_skipped_fraction", "1",
                  "--disable_tqdm", "true")
    done = run(argv, offline_env(tmp_path))
    assert done.returncode == 0, output(done)[-4000:]
    assert "caption_recoded=1" in done.stderr  # the cp1252 byte: re-decoded, in the vocabulary and the batches
    assert (tmp_path / "out" / "final" / "model.safetensors").exists()


def test_the_demo_recipe_on_shards_asks_for_a_vocabulary_before_anything_loads(world, tmp_path):
    done = run(python(TRAIN, "--config", "demo", "--model_name_or_path", world["model"], "--train_data",
                      world["shards"], "--output_dir", str(tmp_path / "out")), offline_env(tmp_path))
    assert done.returncode == 2 and "replace_vocabulary: corpus needs the training captions" in done.stdout
    assert_no_traceback(done)
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------- evaluation


def test_evaluation_without_network_shows_its_preflight_in_seconds(tmp_path):
    env = offline_env(tmp_path, HF_ENDPOINT="http://127.0.0.1:9")
    del env["HF_HUB_OFFLINE"]  # no network, and nothing says so
    started = time.monotonic()
    done = run(python(EVAL, "--model_name_or_path", "openai/clip-vit-base-patch32", "--benchmarks", "sugarcrepe",
                      "--data_root", str(tmp_path / "data"), "--output_dir", str(tmp_path / "out")), env)
    assert done.returncode == 2, output(done)
    assert time.monotonic() - started < 60
    assert "MISSING  model" in done.stdout and "does not answer" in done.stdout
    assert f"fix: python -m fsc_clip_hf.evaluation.download --benchmarks sugarcrepe --data_root {tmp_path / 'data'}" \
        in done.stdout
    lines = [line for line in output(done).splitlines() if line.strip()]
    assert len(lines) == len(set(lines)), lines  # each thing said once
    assert_no_traceback(done)
    assert not (tmp_path / "out").exists()


def test_an_unreadable_benchmark_file_is_a_missing_piece_not_a_traceback(tmp_path):
    from helpers.eval_benchmark_files import write_sugarcrepe

    write_sugarcrepe(tmp_path / "data")
    (tmp_path / "data" / "sugarcrepe" / "replace_obj.json").write_text("{not json")
    done = run(python(EVAL, "--model_name_or_path", str(tmp_path / "model"), "--benchmarks", "sugarcrepe",
                      "--data_root", str(tmp_path / "data"), "--output_dir", str(tmp_path / "out")),
               offline_env(tmp_path))
    assert done.returncode == 2, output(done)
    row = next(line for line in done.stdout.splitlines() if "eval: sugarcrepe" in line)
    assert "MISSING" in row and "unreadable" in row and "replace_obj.json" in row
    assert_no_traceback(done)


def test_evaluation_of_the_synthetic_world_points_at_the_demos_world(tmp_path):
    world = tmp_path / "outputs" / "synthetic" / "world" / "0123abcd"
    (world / "eval").mkdir(parents=True)
    (world / "eval" / "compositional.jsonl").write_text("")
    done = run(python(EVAL, "--model_name_or_path", str(tmp_path / "model"), "--benchmarks", "synthetic",
                      "--output_dir", str(tmp_path / "out")), offline_env(tmp_path), cwd=tmp_path)
    assert done.returncode == 2, output(done)
    assert "fix: --data_root outputs/synthetic/world/0123abcd (the demo's world)" in done.stdout
    assert_no_traceback(done)


# --------------------------------------------------------------------------------------------- the Hub


def test_a_push_without_network_is_refused_before_training(world, tmp_path):
    env = offline_env(tmp_path, HF_TOKEN="hf_test_token", HF_ENDPOINT="http://127.0.0.1:9")
    del env["HF_HUB_OFFLINE"]  # a token and no network, as on a cluster node
    started = time.monotonic()
    done = run(train(world, tmp_path / "out", "--push_to_hub", "true", "--hub_model_id", "me/fsc-tiny"), env)
    assert done.returncode == 2, output(done)
    assert "MISSING  Hub upload" in done.stdout and "does not answer" in done.stdout
    assert "python -m fsc_clip_hf.release push" in done.stdout
    assert_no_traceback(done)
    assert time.monotonic() - started < 60


def test_pushing_a_release_without_a_token_says_so_without_a_request(tmp_path):
    release = tmp_path / "final"
    release.mkdir()
    (release / "config.json").write_text("{}")
    env = offline_env(tmp_path, HF_ENDPOINT="http://127.0.0.1:9")
    del env["HF_HUB_OFFLINE"]
    done = run(python("-m", "fsc_clip_hf.release", "push", str(release), "--repo_id", "me/fsc-tiny"), env)
    assert done.returncode == 1 and f"no Hub token, so {release} was not uploaded" in done.stderr, output(done)
    assert_no_traceback(done)


@pytest.mark.slow
def test_a_failed_upload_after_training_keeps_the_release_and_says_how_to_push_it(world, tmp_path):
    """The Hub lets the run create its repository, then refuses the upload: one message, the release
    complete on disk, the command that pushes it later (about 15 s)."""
    out = tmp_path / "out"
    with fake_hub() as endpoint:
        env = offline_env(tmp_path, HF_TOKEN="hf_test_token", HF_ENDPOINT=endpoint)
        del env["HF_HUB_OFFLINE"]
        done = run(train(world, out, "--max_steps", "1", "--push_to_hub", "true", "--hub_model_id", "me/fsc-tiny"), env)
    assert done.returncode == 1, output(done)
    final = out / "final"
    assert f"The release folder {final} is complete; push it later with: python -m fsc_clip_hf.release push {final} " \
           "--repo_id me/fsc-tiny" in done.stdout
    assert "403" in done.stdout
    assert_no_traceback(done)
    assert {"model.safetensors", "config.json", "README.md", "recipe.yaml"} <= {p.name for p in final.iterdir()}


# --------------------------------------------------------------------------------------------- what a run leaves


@pytest.mark.slow
def test_a_release_runs_again_from_its_recipe_and_is_readable_by_others(world, tmp_path):
    """final/recipe.yaml names the model, processor and data it read (local paths made absolute), so that it
    runs again from any folder; every file of final/ is readable under a 022 umask (about 15 s)."""
    out = tmp_path / "out"
    done = run(train(world, out, "--max_steps", "1"), offline_env(tmp_path))
    assert done.returncode == 0, output(done)
    final = out / "final"
    assert f"results: final model: {final}" in done.stdout
    assert {oct(path.stat().st_mode & 0o777) for path in final.rglob("*") if path.is_file()} == {"0o644"}
    recipe = yaml.safe_load((final / "recipe.yaml").read_text())
    assert recipe["model_name_or_path"] == world["model"] and recipe["train_data"] == world["shards"]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = run(python(TRAIN, "--config", str(final / "recipe.yaml"), "--output_dir", str(tmp_path / "again"),
                       "--dry_run"), offline_env(tmp_path), cwd=elsewhere)
    assert again.returncode == 0 and "pre-flight: everything is in place" in again.stdout, output(again)
    assert f"{world['model']}: local folder" in again.stdout and f"{world['shards']}: local folder" in again.stdout
    assert list(elsewhere.iterdir()) == []  # nothing written where the command ran
    same = run(python(TRAIN, "--config", str(final / "recipe.yaml"), "--dry_run"), offline_env(tmp_path), cwd=elsewhere)
    assert same.returncode == 2 and "holds the release of an earlier run (final/)" in same.stdout, output(same)


@pytest.mark.slow
def test_installing_prints_no_warning_of_ours(tmp_path):
    """The build of the package (what pip install runs) warns of nothing in our configuration (about 15 s)."""
    done = run(python("-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(REPO)),
               offline_env(tmp_path), timeout=300)
    assert done.returncode == 0, output(done)
    assert "Warning" not in output(done) and "deprecated" not in output(done), output(done)
