"""The pre-flight: every missing piece of a run listed at once, with its fix, before anything loads;
the output folder probed, locked and protected."""

import os
import shutil
import subprocess
import sys
import time

import pytest
from helpers.repo import REPO

from fsc_clip_hf.cli.train import train_main
from fsc_clip_hf.training.preflight import MISSING, NOTE, OK, OutputLock, check_output_dir
from fsc_clip_hf.training.recipes import parse_args


@pytest.fixture
def world(tiny_world):
    return tiny_world


def local_run(world, output_dir, *extra):
    return ["--model_name_or_path", world["model"], "--processor_name_or_path", world["processor"],
            "--train_data", world["shards"], "--output_dir", str(output_dir), "--use_cpu", "true",
            "--add_random_text_hard_negatives", "negclip", "--report_to", "none", *extra]


def test_a_recipe_with_every_piece_missing_lists_them_all_and_exits_2_within_seconds(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    recipe = tmp_path / "everything_missing.yaml"
    recipe.write_text(
        "model_name_or_path: nobody/no-such-clip\n"
        "train_data: laioncoco_100k\n"
        "add_random_text_hard_negatives: fsc-clip\n"
        "spacy_model: xx_no_such_pipeline\n"
        "negatives_cache_dir: " + str(tmp_path / "no_cache") + "\n"
        "eval_benchmarks: sugarcrepe,aro\n"
        "eval_data_root: " + str(tmp_path / "no_data") + "\n"
        "output_dir: " + str(blocker / "out") + "\n"
        "bf16: true\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf_home"), "CUDA_VISIBLE_DEVICES": ""}
    start = time.monotonic()
    done = subprocess.run([sys.executable, str(REPO / "recipes" / "train.py"), "--config", str(recipe)],
                          capture_output=True, text=True, env=env, timeout=300)
    elapsed = time.monotonic() - start
    assert done.returncode == 2, done.stderr[-3000:]
    table = done.stdout  # refusals print on standard output (accelerate launch repeats standard error)
    for piece, fix in [
        ("precision", "--bf16 false"),
        ("model", "hf download nobody/no-such-clip"),
        ("processor", "the model's download above brings it"),
        ("training data", "hf download ytaek-oh/laioncoco-subset-100k --repo-type dataset"),
        ("negatives: spaCy", "python -m spacy download xx_no_such_pipeline"),
        ("negatives: cache", "python -m fsc_clip_hf.negatives precompute"),
        ("eval: sugarcrepe", "python -m fsc_clip_hf.evaluation.download --benchmarks sugarcrepe"),
        ("eval: aro", "python -m fsc_clip_hf.evaluation.download --benchmarks aro"),
        ("output folder", "--output_dir <a writable folder>"),
    ]:
        row = next((line for line in table.splitlines() if f"MISSING  {piece} " in line), None)
        assert row is not None, f"{piece} not listed:\n{table}"
        assert fix in table, fix
    assert "HF_HUB_OFFLINE is set" in table and "Traceback" not in table
    # One line per thing said: no warning printed twice (by a library's handler and again by ours).
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip() and "fix:" not in line]
    assert len(lines) == len(set(lines)), lines
    # Imports take most of it; nothing waits on the network.
    assert elapsed < 120, elapsed


def test_dry_run_with_everything_present_exits_0_and_writes_nothing(world, tmp_path, capsys):
    out = tmp_path / "run"
    train_main(local_run(world, out, "--dry_run", "--eval_benchmarks", "synthetic", "--eval_data_root",
                         world["eval"]))
    table = capsys.readouterr().out
    assert "pre-flight: everything is in place" in table
    for piece in ("model", "processor", "training data", "negatives: spaCy", "eval: synthetic", "output folder"):
        assert any(line.startswith(f"  ok       {piece}") for line in table.splitlines()), piece
    assert sorted(p.name for p in out.iterdir()) == [".fsc_clip_hf.lock"]  # no training happened


def test_a_folder_without_tokenizer_files_is_a_missing_processor(world, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        train_main(local_run(world, tmp_path / "run", "--dry_run", "--processor_name_or_path", world["model"]))
    assert exit_.value.code == 2
    assert "MISSING  processor" in capsys.readouterr().out


def test_an_output_folder_with_checkpoints_needs_resume_or_overwrite(world, tmp_path):
    (tmp_path / "checkpoint-500").mkdir()
    fresh = check_output_dir(parse_args(local_run(world, tmp_path)))
    assert fresh[0].status == MISSING and "checkpoint-500" in fresh[0].detail
    assert "--resume_from_checkpoint last" in fresh[0].fix and "--overwrite_output_dir true" in fresh[0].fix
    assert check_output_dir(parse_args(local_run(world, tmp_path, "--resume_from_checkpoint", "last")))[0].status == OK
    assert check_output_dir(parse_args(local_run(world, tmp_path, "--overwrite_output_dir", "true")))[0].status == NOTE
    missing = check_output_dir(parse_args(local_run(world, tmp_path, "--resume_from_checkpoint", str(tmp_path / "x"))))
    assert missing[0].status == MISSING and "no such folder" in missing[0].detail


def test_an_unwritable_output_folder_is_found_before_training(world, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    check = check_output_dir(parse_args(local_run(world, blocker / "out")))[0]
    assert check.status == MISSING and "not writable" in check.detail


def test_a_second_run_on_the_same_output_folder_is_refused_while_the_first_holds_it(world, tmp_path, capsys):
    first = OutputLock(str(tmp_path))
    assert first.acquire() is None
    with pytest.raises(SystemExit) as exit_:
        train_main(local_run(world, tmp_path, "--dry_run"))
    assert exit_.value.code == 2
    assert f"another run is using it (pid {os.getpid()}" in capsys.readouterr().out
    first.release()
    train_main(local_run(world, tmp_path, "--dry_run"))  # released: the folder is free again
    assert "everything is in place" in capsys.readouterr().out


def test_the_lock_goes_with_the_process_that_held_it(tmp_path):
    # A run killed without cleaning up leaves the lock file, but not the lock.
    code = f"from fsc_clip_hf.training.preflight import OutputLock; OutputLock({str(tmp_path)!r}).acquire(); import os; os._exit(0)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=120)
    assert (tmp_path / ".fsc_clip_hf.lock").exists()
    assert OutputLock(str(tmp_path)).acquire() is None


def test_a_tokenizer_that_cannot_be_the_models_is_a_missing_processor(world, tmp_path, capsys):
    from transformers import CLIPTokenizer

    other = tmp_path / "other_processor"
    shutil.copytree(world["processor"], other)
    tokenizer = CLIPTokenizer.from_pretrained(world["processor"])
    tokenizer.add_tokens(["an-extra-token"])  # one token more than the model's embedding has rows
    tokenizer.save_pretrained(other)
    with pytest.raises(SystemExit):
        train_main(local_run(world, tmp_path / "run", "--dry_run", "--processor_name_or_path", str(other)))
    out = capsys.readouterr().out
    assert "MISSING  processor" in out and "tokens where the model's text embedding has" in out


def test_a_missing_vocabulary_file_is_a_missing_piece_with_the_command_that_writes_one(world, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        train_main(local_run(world, tmp_path / "run", "--dry_run", "--replace_vocabulary", "corpus",
                             "--replace_vocabulary_file", str(tmp_path / "captions.txt")))
    table = capsys.readouterr().out
    assert exit_.value.code == 2 and "MISSING  negatives: vocabulary" in table
    assert "--output vocabulary.json" in table  # a count is JSON: never written under the caption file's name


def test_a_mistyped_caption_file_is_missing_data_not_a_vocabulary_question(world, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        train_main(local_run(world, tmp_path / "run", "--dry_run", "--replace_vocabulary", "corpus",
                             "--train_data", str(tmp_path / "pairs.csv")))
    table = capsys.readouterr().out
    assert exit_.value.code == 2 and "MISSING  training data" in table
    assert "needs the training captions" not in table
