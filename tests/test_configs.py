"""Recipes and options: every value typed at parse time, options that cannot go together refused with
file and option named, `--print_config`, the grouped `--help`."""

import pytest
import yaml

from fsc_clip_hf.training.recipes import (
    COMMAND_LINE,
    PrecisionUnavailable,
    RecipeError,
    build_parser,
    load_recipe,
    parse_args,
    parse_command,
    resolved_recipe,
)

BASE = {"model_name_or_path": "openai/clip-vit-base-patch32", "train_data": "train_neg_clip",
        "add_random_text_hard_negatives": "fsc-clip", "use_cpu": True}


def recipe(tmp_path, text="", **options):
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({**BASE, **options}) + text)
    return str(path)


def parse(tmp_path, *argv, text="", **options):
    return parse_args(["--config", recipe(tmp_path, text, **options), "--output_dir", str(tmp_path / "out"), *argv])


@pytest.mark.parametrize("text, option, problem", [
    ("neg_loss_weight: [1, 2]\n", "neg_loss_weight", "is a list"),
    ("per_device_train_batch_size: 1.5\n", "per_device_train_batch_size", "1.5 is not an int"),
    ("per_device_train_batch_size: many\n", "per_device_train_batch_size", "'many' is not an int"),
    ("learning_rate: fast\n", "learning_rate", "'fast' is not a float"),
    ("use_lora: maybe\n", "use_lora", "not a boolean"),
    ("save_strategy: no\n", "save_strategy", "quote the value"),  # YAML 1.1 reads `no` as false
    ("lr_scheduler_type: cosin\n", "lr_scheduler_type", "is not one of"),
    ("seed: {a: 1}\n", "seed", "is a mapping"),
    ("per_device_train_batch_size: null\n", "per_device_train_batch_size", "null is not allowed"),
])
def test_a_recipe_value_of_the_wrong_type_names_the_file_and_the_option(tmp_path, text, option, problem):
    with pytest.raises(RecipeError) as error:
        parse(tmp_path, text=text)
    message = str(error.value)
    assert message.startswith(f"recipe {tmp_path / 'r.yaml'}: {option}: ") and problem in message


def test_recipe_values_take_their_options_types(tmp_path):
    args = parse(tmp_path, text="per_device_train_batch_size: 2.0\nlearning_rate: 5e-6\nneg_loss_weight: 1\n"
                                "save_strategy: \"no\"\nreport_to: none\nneg_label_smoothing: null\n")
    assert args.per_device_train_batch_size == 2 and isinstance(args.per_device_train_batch_size, int)
    assert args.learning_rate == 5e-6 and args.neg_loss_weight == 1.0 and isinstance(args.neg_loss_weight, float)
    assert args.save_strategy == "no" and args.neg_label_smoothing is None


@pytest.mark.parametrize("options, argv, where, problem", [
    ({"neg_loss_weight": -0.5}, [], "recipe", "neg_loss_weight: -0.5 is negative"),
    ({}, ["--local_neg_weight", "-1"], COMMAND_LINE, "local_neg_weight: -1.0 is negative"),
    ({"loss_name": "clip", "apply_local_neg_loss": True}, [], "recipe", "apply_local_neg_loss: true does nothing"),
    ({}, ["--loss_name", "clip", "--apply_global_neg_loss", "true"], COMMAND_LINE, "apply_global_neg_loss: true"),
    ({"add_random_text_hard_negatives": None}, [], "recipe", "fsc-clip (the default) needs hard negatives"),
    ({"add_random_text_hard_negatives": "swapp"}, [], "recipe", "unknown hard-negative style 'swapp'"),
    ({"loss_name": "fsc"}, [], "recipe", "loss_name: 'fsc' is not one of ['clip', 'fsc-clip']"),
    ({"train_data": None}, [], "recipe", "train_data is required"),
    ({"train_data": "synthetic"}, [], "recipe", "synthetic is the demo's world"),
    ({"base_model": "/models/clip"}, [], "recipe", "is not a Hub id"),
])
def test_options_that_would_fail_or_do_nothing_are_refused_naming_where_they_were_set(tmp_path, options, argv, where,
                                                                                         problem):
    with pytest.raises(RecipeError) as error:
        parse(tmp_path, *argv, **options)
    assert problem in str(error.value)
    assert str(error.value).startswith(f"recipe {tmp_path / 'r.yaml'}" if where == "recipe" else where)


def test_what_the_recipes_rely_on_still_parses(tmp_path):
    # loss_name: clip leaves the (default) hard-negative switches on without being refused: the baselines.
    assert parse(tmp_path, "--loss_name", "clip", add_random_text_hard_negatives=None).loss_name == "clip"
    # fsc-clip with the data's own negatives and no generated ones.
    assert parse(tmp_path, add_random_text_hard_negatives=None, use_dataset_negatives=True).use_dataset_negatives
    # The demo recipes set train_data: synthetic with model_name_or_path: synthetic.
    assert parse_args(["--config", "demo.yaml", "--output_dir", str(tmp_path)]).train_data == "synthetic"


def test_train_data_has_no_default(tmp_path):
    with pytest.raises(RecipeError, match="train_data is required"):
        parse_args(["--output_dir", str(tmp_path), "--add_random_text_hard_negatives", "fsc-clip", "--use_cpu", "true"])


def test_the_demo_refuses_a_wrong_objective_at_parse_time_before_any_pretraining(tmp_path):
    with pytest.raises(RecipeError, match="loss_name: 'foo' is not one of"):
        parse_args(["--config", "demo.yaml", "--output_dir", str(tmp_path), "--loss_name", "foo"])


def test_the_demo_checks_its_variants_before_writing_the_world(tmp_path):
    from fsc_clip_hf.training.demo import run_demo

    args = parse_args(["--config", "demo.yaml", "--output_dir", str(tmp_path), "--demo_variants", "clip,foo"])
    with pytest.raises(ValueError, match=r"demo_variants: unknown \['foo'\]"):
        run_demo(args)
    assert not (tmp_path / "world").exists()


def test_bf16_on_a_machine_without_a_gpu_says_which_option_to_pass(tmp_path, monkeypatch):
    monkeypatch.setattr("transformers.training_args.is_torch_bf16_gpu_available", lambda: False)
    with pytest.raises(PrecisionUnavailable) as error:
        parse_args(["--config", "coco_b32.yaml", "--output_dir", str(tmp_path), "--bf16", "true"])
    assert "--bf16 false" in str(error.value) and "--use_cpu true" in str(error.value)
    assert error.value.fix.startswith("--bf16 false")


def test_print_config_shows_the_recipe_and_the_overrides_not_the_defaults():
    command = parse_command(["--config", "coco_b32.yaml", "--learning_rate", "1e-5", "--print-config"])
    assert command.args is None and command.print_config
    text = resolved_recipe(command)
    assert "learning_rate: 1.0e-05  # command line" in text
    assert "hub_strategy" not in text and "print_config" not in text  # a default, and a flag, not recipe values
    printed = yaml.safe_load(text)
    recipe_alone = parse_command(["--config", "coco_b32.yaml", "--print_config"]).given
    assert printed == {**recipe_alone, "learning_rate": 1e-5} and set(recipe_alone) == set(load_recipe("coco_b32.yaml"))


def test_help_lists_our_options_first_in_groups_then_the_trainers():
    text = build_parser().format_help()
    order = ["recipe:", "model:", "objective:", "negatives:", "data:", "LoRA:", "evaluation:", "output and release:",
             "Trainer options"]
    positions = [text.index(f"\n{title}") for title in order]
    assert positions == sorted(positions)
    trainer = text.index("\nTrainer options")
    for option in ("--neg_loss_weight", "--add_random_text_hard_negatives", "--train_data ", "--use_lora",
                   "--eval_benchmarks", "--base_model", "--hub_model_id", "--print_config", "--dry_run"):
        assert text.index(option) < trainer, option
    assert text.index("--per_device_train_batch_size") > trainer
    assert text.index("--neg_loss_weight") > text.index("\nobjective:")
    assert len(text.split("\n\n")[0].splitlines()) == 1  # a short usage line, not 100 lines of options


def test_dashed_aliases_are_accepted_and_mean_the_same_option(tmp_path):
    command = parse_command(["--config", recipe(tmp_path), "--neg-loss-weight", "2", "--output-dir", str(tmp_path)])
    assert command.args.neg_loss_weight == 2.0 and command.args.output_dir == str(tmp_path)
    assert command.sources["neg_loss_weight"] == COMMAND_LINE
