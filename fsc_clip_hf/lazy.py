"""Package namespaces whose public names are imported on first use.

A package's ``__init__`` lists its names and the submodule that defines each; nothing is imported until a
name is read. So importing one submodule (``fsc_clip_hf.negatives.resources``, run as a script, or
``fsc_clip_hf.evaluation.adapters.zeroshot`` from the model card) does not import its siblings, and no
import cycle can run through a package's ``__init__``. A leaf module: it imports nothing of the package.
"""

from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict[str, str]):
    """``(__getattr__, __dir__, __all__)`` for ``package``, whose name ``n`` lives in submodule ``exports[n]``
    (relative to the package, e.g. ``"losses"`` or ``"training.trainer"``)."""

    def __getattr__(name: str):
        if name in exports:
            return getattr(importlib.import_module(f".{exports[name]}", package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(exports)

    return __getattr__, __dir__, sorted(exports)


def moved(old: str, new: str, namespace: dict) -> None:
    """Keep the module path ``old`` working after its code moved to ``new``.

    Imported, ``old`` warns and offers ``new``'s public names; run with ``python -m old``, it says where the
    command went and runs ``new`` (its ``__main__`` when it is a package) with the same arguments.
    """
    import importlib.util
    import runpy
    import sys
    import warnings

    if namespace.get("__name__") == "__main__":
        print(f"note: python -m {old} is now python -m {new}", file=sys.stderr)
        package = importlib.util.find_spec(new).submodule_search_locations is not None
        runpy.run_module(f"{new}.__main__" if package else new, run_name="__main__", alter_sys=True)
        return
    warnings.warn(f"{old} moved to {new}; import it from there", FutureWarning, stacklevel=3)
    target = importlib.import_module(new)
    names = getattr(target, "__all__", [name for name in vars(target) if not name.startswith("_")])
    namespace.update({name: getattr(target, name) for name in names})
