"""Options written once: a dataclass field carries an option's default and help, and what the commands
derive from it (its ``--help`` group, whether a release's ``recipe.yaml`` records it, its allowed values).

    neg_loss_weight: float = option(0.5, "Weight of the global HN term.", group=OBJECTIVE, recorded=True,
                                    bounds=Bounds(0))

The loss options (``fsc_clip_hf.losses.LossOptions``), the negative options
(``fsc_clip_hf.negatives.options.NegativeOptions``) and the run's own (``FSCTrainingArguments``) are
declared this way; ``recipes/train.py --help``, ``recipe.yaml`` and the checks before a run read them from
the fields. A leaf module: it imports nothing of the package.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import types
from dataclasses import MISSING, dataclass
from typing import Any

# The --help groups of recipes/train.py, in the order they are shown.
RECIPE = "recipe"
MODEL = "model"
OBJECTIVE = "objective"
NEGATIVES = "negatives"
DATA = "data"
LORA = "LoRA"
EVALUATION = "evaluation"
RELEASE = "output and release"
DEMO = "the synthetic demo (model_name_or_path: synthetic)"
GROUPS = (RECIPE, MODEL, OBJECTIVE, NEGATIVES, DATA, LORA, EVALUATION, RELEASE, DEMO)

# The one metadata key of ours; HfArgumentParser passes every other key to argparse.
INFO = "fsc_clip_hf"


@dataclass(frozen=True)
class Bounds:
    """The numbers an option admits: ``low`` to ``high`` (either open, or absent), plus the ``also`` values
    (e.g. -1 for "unset", None)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    also: tuple = ()

    def admits(self, value: Any) -> bool:
        if value in self.also and not isinstance(value, bool):
            return True
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (self.high is not None and (value >= self.high if self.high_open else value > self.high))

    def why_not(self, value: Any) -> str:
        """Why ``value`` is refused, e.g. "is negative (allowed: >= 0)"."""
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            reason = "is not a number" if value is not None else "is null"
        elif self.low is not None and value < self.low and value < 0 <= self.low:
            reason = "is negative"
        elif self.low is not None and (value <= self.low if self.low_open else value < self.low):
            reason = f"is {'not above' if self.low_open else 'below'} {_number(self.low)}"
        else:
            reason = f"is {'not below' if self.high_open else 'above'} {_number(self.high)}"
        return f"{reason} (allowed: {self})"

    def __str__(self) -> str:
        low = None if self.low is None else f"{'>' if self.low_open else '>='} {_number(self.low)}"
        high = None if self.high is None else f"{'<' if self.high_open else '<='} {_number(self.high)}"
        text = " and ".join(part for part in (low, high) if part)
        if self.also:
            text += "".join(f", or {'null' if v is None else _number(v)}" for v in self.also)
        return text


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class OptionInfo:
    group: str | None = None  # the --help group; None: "more options" (ours) or the Trainer's
    recorded: bool = False  # written to a release's recipe.yaml: what the run was
    bounds: Bounds | None = None  # the numbers a run can use
    choices: tuple | None = None  # the words a run can use
    path: bool = False  # a file or folder on this machine (or a Hub id): recorded as an absolute local path


def option(default: Any = MISSING, help: str = "", *, group: str | None = None, recorded: bool = False,
           bounds: Bounds | None = None, choices: tuple | None = None, path: bool = False) -> dataclasses.Field:
    """A dataclass field with its help and :class:`OptionInfo`."""
    info = OptionInfo(group, recorded, bounds, tuple(choices) if choices else None, path)
    return dataclasses.field(default=default, metadata={"help": help, INFO: info})


def inherited(base: type, name: str, default: Any = MISSING, **info) -> dataclasses.Field:
    """``base``'s field ``name`` (its help and default; ``default`` overrides it) with :class:`OptionInfo`
    added: how a subclass states what it relies on in an option it does not own (the Trainer's)."""
    original = base.__dataclass_fields__[name]
    metadata = {**original.metadata, INFO: OptionInfo(**info)}
    if default is MISSING and original.default_factory is not MISSING:
        return dataclasses.field(default_factory=original.default_factory, metadata=metadata)
    return dataclasses.field(default=original.default if default is MISSING else default, metadata=metadata)


def info(field: dataclasses.Field) -> OptionInfo:
    return field.metadata.get(INFO) or OptionInfo()


def without_info(field: dataclasses.Field) -> dataclasses.Field:
    """A copy of ``field`` whose metadata holds only what argparse takes (HfArgumentParser passes it on)."""
    plain = copy.copy(field)
    plain.metadata = types.MappingProxyType({k: v for k, v in field.metadata.items() if k != INFO})
    return plain


def recorded_options(cls: type) -> list[str]:
    """The options of dataclass ``cls`` that a release's recipe records: by group (in :data:`GROUPS` order),
    then those of no group, each in declaration order."""
    recorded = [f for f in dataclasses.fields(cls) if info(f).recorded]
    rank = {title: i for i, title in enumerate(GROUPS)}
    return [f.name for f in sorted(recorded, key=lambda f: rank.get(info(f).group, len(GROUPS)))]


def path_options(cls: type) -> list[str]:
    """The options of dataclass ``cls`` that name a file or folder (or a Hub id)."""
    return [f.name for f in dataclasses.fields(cls) if info(f).path]


def option_groups(cls: type) -> dict[str, list[str]]:
    """Group title -> the options of dataclass ``cls`` in it, in :data:`GROUPS` order, then declaration order."""
    groups: dict[str, list[str]] = {title: [] for title in GROUPS}
    for f in dataclasses.fields(cls):
        title = info(f).group
        if title is not None:
            groups.setdefault(title, []).append(f.name)
    return groups


def invalid_values(obj: Any) -> list[tuple[str, str]]:
    """``(option, "value is ... (allowed: ...)")`` for each option of dataclass instance ``obj`` whose
    value is outside its bounds or choices."""
    problems = []
    for f in dataclasses.fields(obj):
        value, rule = getattr(obj, f.name), info(f)
        if rule.bounds is not None and not rule.bounds.admits(value):
            problems.append((f.name, f"{value} {rule.bounds.why_not(value)}"))
        elif rule.choices is not None and value not in rule.choices:
            problems.append((f.name, f"{value!r} is not one of {list(rule.choices)}"))
    return problems


class InvalidOptions(ValueError):
    """Options outside their bounds or choices; ``problems`` holds ``(option, what is wrong)``."""

    def __init__(self, problems: list[tuple[str, str]], prefix: str = ""):
        self.problems = problems
        super().__init__("; ".join(f"{prefix}{name}: {text}" for name, text in problems))


def check_values(obj: Any, prefix: str = "") -> None:
    """Raise :class:`InvalidOptions` naming every option of ``obj`` outside its bounds or choices."""
    problems = invalid_values(obj)
    if problems:
        raise InvalidOptions(problems, prefix)
