"""YAML recipes with command-line overrides, parsed into `FSCTrainingArguments`.

`--config laioncoco_b32` (a bare name, with or without `.yaml`, resolves inside the recipes folder of the
script, `recipes/`, or `./recipes`) sets the defaults; any
option on the command line overrides it (`--learning_rate 1e-5`). Every recipe value is converted
with its option's type when the recipe is read, and the options are checked together before anything
is built, so a wrong value fails at once with the file and the option named:

    recipe recipes/x.yaml: per_device_train_batch_size: 1.5 is not an int

`--print_config` prints the resolved recipe (the recipe's values with the command line's on top, not
the built-in defaults) and exits; `--dry_run` runs the pre-flight only (`fsc_clip_hf.training.preflight`).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from transformers import HfArgumentParser, TrainingArguments

from ..options import RECIPE, InvalidOptions, option_groups, without_info
from ..release.model_card import RUN_RECORD
from .arguments import FSCTrainingArguments
from .engines import DEEPSPEED_INSTALL, deepspeed_installed, engine_problems
from .recipe_files import resolve_recipe

COMMAND_LINE = "the command line"
USAGE = "[accelerate launch] recipes/train.py --config RECIPE [--option value ...] [--print_config] [--dry_run]"

# `recipes/train.py --help` shows our options first, in their groups (`fsc_clip_hf.options`), then the
# Trainer's own; the recipe group holds the command's own flags.
COMMAND_FLAGS = ("config", "print_config", "dry_run", "help")
OTHER_GROUP = "more fsc-clip-hf options"
TRAINER_GROUP = "Trainer options (transformers.TrainingArguments; see its documentation)"

# Options that only act with loss_name: fsc-clip; set to true with loss_name: clip, they would do nothing.
FSC_ONLY_SWITCHES = ("apply_global_neg_loss", "apply_local_neg_loss", "hn_global_mean")


class RecipeError(ValueError):
    """A recipe or command-line value that cannot be used; the message names the file and the option."""


class PrecisionUnavailable(RecipeError):
    """The recipe asks for bf16 and this machine cannot run it; ``fix`` says which options to pass."""

    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.fix = fix


def load_recipe(name: str, recipes_dir: str | Path | None = None, arguments: type = FSCTrainingArguments) -> dict:
    """The recipe's options as a dict, checked against the option names of ``arguments`` (values as written)."""
    path = resolve_recipe(name, recipes_dir)
    try:
        options = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise RecipeError(f"recipe {path}: not valid YAML: {error}") from error
    if not isinstance(options, dict):
        raise RecipeError(f"recipe {path}: expected a mapping of option: value, got {type(options).__name__}")
    # A release's recipe.yaml also records `run:`, what the run was (precision, processes): not an option.
    options.pop(RUN_RECORD, None)
    known = [field.name for field in dataclasses.fields(arguments)]
    unknown = [key for key in options if key not in known]
    if unknown:
        raise RecipeError(f"recipe {path}: " + "; ".join(f"unknown option {key!r}{_suggestion(str(key), known)}"
                                                         for key in unknown))
    return options


def _suggestion(name: str, known) -> str:
    """", did you mean x?" for the known name nearest to a misspelt one, or ""."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


@dataclass
class Command:
    """A parsed `recipes/train.py` command line."""

    args: FSCTrainingArguments | None  # None with --print_config (nothing is built)
    recipe: Path | None
    given: dict[str, Any]  # the options set by the recipe or the command line, converted, command line last
    sources: dict[str, str]  # option -> where it was set ("recipe <path>" or COMMAND_LINE)
    print_config: bool
    dry_run: bool


class _Parser(HfArgumentParser):
    """HfArgumentParser, given each field without our option metadata (it passes metadata to argparse)."""

    @staticmethod
    def _parse_dataclass_field(parser: argparse.ArgumentParser, field: dataclasses.Field):
        HfArgumentParser._parse_dataclass_field(parser, without_info(field))


def build_parser(arguments: type = FSCTrainingArguments) -> HfArgumentParser:
    """The parser of `recipes/train.py`: every option of ``arguments`` (dashed aliases too, as
    transformers adds them), `--config`, `--print_config` and `--dry_run`, grouped for `--help`."""
    parser = _Parser(arguments, usage=USAGE, description="Fine-tune a CLIP model with FSC-CLIP (or CLIP / NegCLIP) "
                     "from a YAML recipe; command-line options override the recipe.")
    parser.add_argument("--config", help="YAML recipe: a path, or a name (with or without .yaml) in recipes/")
    parser.add_argument("--print_config", "--print-config", action="store_true",
                        help="print the resolved recipe (the recipe's values and the command line's) and exit")
    parser.add_argument("--dry_run", "--dry-run", action="store_true",
                        help="run the pre-flight only: what is present and missing, with the command for each")
    _group_options(parser, arguments)
    return parser


def _group_options(parser: argparse.ArgumentParser, arguments: type) -> None:
    """Move our options out of argparse's single group into their groups, ahead of the Trainer's."""
    ours = {f.name for f in dataclasses.fields(arguments)} - {f.name for f in dataclasses.fields(TrainingArguments)}
    listed = option_groups(arguments)
    listed[RECIPE] = [*COMMAND_FLAGS, *listed.get(RECIPE, ())]
    group_of = {name: title for title, names in listed.items() for name in names}
    general = parser._optionals
    groups = {title: parser.add_argument_group(title) for title in [*listed, OTHER_GROUP]}
    for action in list(general._group_actions):
        title = group_of.get(action.dest) or (OTHER_GROUP if action.dest in ours else None)
        if title is not None:
            general._group_actions.remove(action)
            groups[title]._group_actions.append(action)
    for title, names in listed.items():  # in declaration order (a --no_x right after its --x)
        groups[title]._group_actions.sort(key=lambda action: names.index(action.dest))
    general.title = TRAINER_GROUP
    parser._action_groups.remove(general)
    parser._action_groups.append(general)
    for title, group in groups.items():
        if not group._group_actions:
            parser._action_groups.remove(group)


def parse_command(argv: list[str] | None = None, recipes_dir: str | Path | None = None,
                  arguments: type = FSCTrainingArguments) -> Command:
    """`[--config RECIPE] [--option value ...] [--print_config] [--dry_run]` into ``arguments``, checked (see
    the module); a bare recipe name is looked for in ``recipes_dir``, then ``./recipes``."""
    parser = build_parser(arguments)
    known, _ = parser.parse_known_args(argv)
    recipe, given, sources = None, {}, {}
    if known.config:
        recipe = resolve_recipe(known.config, recipes_dir)
        given = convert_recipe(parser, load_recipe(str(recipe), arguments=arguments), recipe, arguments)
        sources = dict.fromkeys(given, f"recipe {recipe}")
        # Converted values are not strings, so argparse keeps them as they are.
        parser.set_defaults(**given)
    namespace, leftover = parser.parse_known_args(argv)
    unknown = [token.split("=", 1)[0] for token in leftover if token.startswith("-")]
    if unknown:
        flags = [flag for flag in parser._option_string_actions if flag.startswith("--") and "-" not in flag[2:]]
        raise RecipeError(f"{COMMAND_LINE}: " + "; ".join(f"unknown option {flag}{_suggestion(flag, flags)}"
                                                           for flag in unknown))
    if leftover:
        raise RecipeError(f"{COMMAND_LINE}: unexpected {' '.join(leftover)} (options are --name value)")
    for dest in command_line_options(parser, argv):
        given[dest] = getattr(namespace, dest)
        sources[dest] = COMMAND_LINE
    _check_deepspeed_installed(namespace.deepspeed, sources)
    for flag in ("config", "print_config", "dry_run"):
        given.pop(flag, None), sources.pop(flag, None)
    if known.print_config:
        return Command(None, recipe, given, sources, True, known.dry_run)
    try:
        # The first item is the arguments; a second, the namespace holding --config and the flags.
        args = parser.parse_args_into_dataclasses(args=argv)[0]
    except InvalidOptions as error:
        lines = [f"{_where(sources, name)}: {name}: {text}" for name, text in error.problems]
        raise RecipeError(lines[0] if len(lines) == 1 else
                          f"{len(lines)} options cannot be used:\n  " + "\n  ".join(lines)) from None
    except ValueError as error:
        raise _precision_error(error, sources) or _named(error, sources) from error
    check_options(args, sources)
    return Command(args, recipe, given, sources, False, known.dry_run)


def parse_args(argv: list[str] | None = None) -> FSCTrainingArguments:
    """`[--config RECIPE] [--option value ...]` → arguments; the command line wins over the recipe."""
    command = parse_command(argv)
    if command.args is None:
        raise RecipeError("--print_config builds no arguments: use parse_command")
    return command.args


def command_line_options(parser: argparse.ArgumentParser, argv: list[str] | None) -> list[str]:
    """The destinations of the options written on the command line (aliases and `--no_x` included)."""
    dests = []
    for token in argv or []:
        if not token.startswith("--"):
            continue
        action = parser._option_string_actions.get(token.split("=", 1)[0])
        if action is not None and action.dest not in dests:
            dests.append(action.dest)
    return dests


def resolved_recipe(command: Command) -> str:
    """The YAML that `--print_config` prints: the recipe's values, the command line's overrides marked."""
    header = [f"# resolved from {command.recipe or 'the command line alone'}"]
    lines = []
    for key, value in command.given.items():
        text = yaml.safe_dump({key: _plain(value)}, default_flow_style=True, sort_keys=False).strip()[1:-1]
        lines.append(text + ("  # command line" if command.sources.get(key) == COMMAND_LINE else ""))
    return "\n".join(header + lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Values: each recipe value through its option's type


def convert_recipe(parser: argparse.ArgumentParser, options: dict, path: Path,
                   arguments: type = FSCTrainingArguments) -> dict:
    """Each recipe value converted as argparse converts the same value on the command line."""
    hints = typing.get_type_hints(arguments)
    trainer_hints = typing.get_type_hints(TrainingArguments)
    converted = {}
    for key, value in options.items():
        action = parser._option_string_actions[f"--{key}"]
        try:
            converted[key] = convert_value(action, hints.get(key), value)
            _check_enum(trainer_hints.get(key), converted[key])
        except (TypeError, ValueError, argparse.ArgumentTypeError) as error:
            raise RecipeError(f"recipe {path}: {key}: {error}") from None
    return converted


def _check_enum(hint: Any, value: Any) -> None:
    """A Trainer option typed ``SchedulerType | str`` (which a recipe default may redeclare as str) takes
    only the enum's values."""
    for kind in _admitted_types(hint):
        if isinstance(kind, type) and issubclass(kind, Enum) and isinstance(value, str):
            allowed = [member.value for member in kind]
            if value not in allowed:
                raise ValueError(f"{value!r} is not one of {allowed}")


def convert_value(action: argparse.Action, hint: Any, value: Any) -> Any:
    """``value`` (as YAML read it) as the option's type; raises with a message naming the problem."""
    admits = _admitted_types(hint)
    if value is None:
        if type(None) in admits or action.default is None:
            return None
        raise ValueError("null is not allowed (the option needs a value)")
    if isinstance(value, dict):
        if dict in admits:
            return value
        raise ValueError(f"{value!r} is a mapping; expected {_type_name(action)}")
    if isinstance(value, (list, tuple)):
        if action.nargs in ("+", "*") or list in admits:
            return [_convert_one(action, item) for item in value]
        raise ValueError(f"{list(value)!r} is a list; expected one value ({_type_name(action)})")
    converted = _convert_one(action, value)
    return [converted] if action.nargs == "+" else converted


def _convert_one(action: argparse.Action, value: Any) -> Any:
    kind = action.type
    if isinstance(value, bool) and kind not in (None, bool) and getattr(kind, "__name__", "") != "string_to_bool":
        # YAML 1.1 reads unquoted no / yes / on / off as booleans.
        raise ValueError(f"{value!r} is a boolean; expected {_type_name(action)} (quote the value in YAML: "
                         f"\"{str(value).lower()}\" or \"no\")")
    if kind is int and isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{value!r} is not an int")
        value = int(value)
    if kind is not None:
        try:
            # Numbers stay numbers (float(2) is 2.0); everything else goes as the command line gives it, as text.
            numeric = kind in (int, float) and isinstance(value, (int, float))
            value = kind(value) if isinstance(value, str) or numeric else kind(str(value))
        except (TypeError, ValueError, argparse.ArgumentTypeError):
            raise ValueError(f"{value!r} is not {_type_name(action)}") from None
    if action.choices is not None and value not in action.choices:
        raise ValueError(f"{value!r} is not one of {list(action.choices)}")
    return value


def _admitted_types(hint: Any) -> set:
    """The plain types a type hint admits: ``dict | str | None`` -> {dict, str, NoneType}."""
    if hint is None:
        return set()
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return set().union(*(_admitted_types(arg) for arg in typing.get_args(hint)))
    return {origin or hint}


def _type_name(action: argparse.Action) -> str:
    kind = action.type
    if kind is None or getattr(kind, "__name__", "") == "string_to_bool":
        return "a boolean (true / false)" if kind is not None else "a string"
    if action.choices is not None:
        return f"one of {list(action.choices)}"
    return {int: "an int", float: "a float", str: "a string"}.get(kind, getattr(kind, "__name__", str(kind)))


def _plain(value: Any) -> Any:
    """Plain YAML data: enums as their values, paths as text."""
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)  # 500.0 as the recipe wrote it, 500; read back, the option's type makes it 500.0 again
    return str(value) if isinstance(value, Path) else value


# ---------------------------------------------------------------------------------------------
# Options together


def check_options(args: FSCTrainingArguments, sources: dict) -> None:
    """Options that cannot go together, or that would silently do nothing; each error names where the
    options were set (the recipe file or the command line)."""
    demo = args.model_name_or_path == "synthetic"
    if args.train_data is None:
        raise RecipeError(
            f"{_origin(sources)}: train_data is required: train_neg_clip (with train_data_root), "
            "laioncoco_100k, cc3m_100k, a shard pattern (dir/*.tar), a .csv / .tsv / .jsonl table, a save_to_disk "
            "folder or a Hub dataset id")
    if args.train_data == "synthetic" and not demo:
        raise RecipeError(f"{_where(sources, 'train_data')}: train_data: synthetic is the demo's world and goes with "
                          "model_name_or_path: synthetic; give the data to train on")
    if args.add_random_text_hard_negatives and args.replace_vocabulary == "corpus" and not demo:
        from ..negatives.options import VOCABULARY_NEEDED, vocabulary_source

        if vocabulary_source(args.replace_vocabulary_file, args.negatives_cache_dir, args.train_data,
                             must_exist=False) is None:
            raise RecipeError(f"{_where(sources, 'replace_vocabulary')}: {VOCABULARY_NEEDED} (train_data "
                              f"{args.train_data!r} is not a caption file); or replace_vocabulary: wordnet")
    if args.base_model is not None:
        from ..release.model_card import is_hub_id

        if not is_hub_id(args.base_model):
            raise RecipeError(f"{_where(sources, 'base_model')}: base_model: {args.base_model!r} is not a Hub id "
                              "(org/name): it names the pretrained model on the Hub in the model card")
    try:
        loss = args.loss_config()
    except ValueError as error:
        raise RecipeError(f"{_where(sources, 'loss_name')}: {error}") from None
    if args.add_random_text_hard_negatives is not None:
        from ..negatives.styles import parse_style  # light: no spaCy

        try:
            parse_style(args.add_random_text_hard_negatives)
        except ValueError as error:
            raise RecipeError(f"{_where(sources, 'add_random_text_hard_negatives')}: {error}") from None
    if loss.loss_name == "clip":
        for key in FSC_ONLY_SWITCHES:
            if sources.get(key) and getattr(args, key):
                raise RecipeError(
                    f"{_where(sources, key)}: {key}: true does nothing with loss_name: clip "
                    f"({_where(sources, 'loss_name')}): the hard-negative terms belong to loss_name: fsc-clip. "
                    f"Pass --{key} false to train CLIP / NegCLIP, or --loss_name fsc-clip")
    elif (loss.uses_global_hn or loss.uses_local_hn) and not (
            args.add_random_text_hard_negatives or args.use_dataset_negatives):
        where = sources.get("loss_name") or sources.get("add_random_text_hard_negatives") or _origin(sources)
        raise RecipeError(
            f"{where}: loss_name: fsc-clip{'' if 'loss_name' in sources else ' (the default)'}"
            " needs hard negatives, and none are set: add_random_text_hard_negatives: fsc-clip (the paper's), "
            "negclip, replace, ngram_shuffle_N or svlc, or use_dataset_negatives: true; or loss_name: clip")
    # An engine may come from accelerate's launch config rather than from an option.
    problems = [f"{sources.get(key, 'the accelerate config')}: {key}: {problem}" for key, problem in engine_problems(args)]
    if problems:
        raise RecipeError("\n".join(problems))


def _check_deepspeed_installed(config: str | None, sources: dict) -> None:
    """`--deepspeed` without DeepSpeed installed: transformers would fail on it with an unrelated TypeError."""
    if config and not deepspeed_installed():
        raise RecipeError(f"{_where(sources, 'deepspeed')}: deepspeed: {config}: DeepSpeed is not installed: "
                          f"{DEEPSPEED_INSTALL}")


def _where(sources: dict, key: str) -> str:
    return sources.get(key) or "the built-in default"


def _origin(sources: dict) -> str:
    """The recipe, if one was read, else the command line: where a missing option belongs."""
    return next((where for where in sources.values() if where != COMMAND_LINE), COMMAND_LINE)


def _named(error: ValueError, sources: dict) -> RecipeError:
    """The Trainer's own check of its arguments, with where the options came from."""
    origins = sorted(set(sources.values()))
    return RecipeError(f"{error} (options from {', '.join(origins) or 'the defaults'})")


def _precision_error(error: ValueError, sources: dict) -> PrecisionUnavailable | None:
    """transformers' 'Your setup doesn't support bf16/gpu' with the options that fix it."""
    if "bf16" not in str(error) or "support" not in str(error):
        return None
    fix = "--bf16 false to train in float32 here, or --use_cpu true to train in bfloat16 on the CPU (slow)"
    return PrecisionUnavailable(f"{_where(sources, 'bf16')} asks for bf16, and this machine has no GPU that "
                                f"supports it: pass {fix}. On a GPU machine the recipe runs as it is.", fix)
