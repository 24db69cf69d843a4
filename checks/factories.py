"""Import the porter's `module:callable` factories from the workspace, with errors that name the key."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


class FactoryError(ImportError):
    """A factory named in the config that cannot be imported or called."""


def add_workspace_to_path(root: Path) -> None:
    """Make the porter's own modules importable, ahead of anything installed under the same name."""
    entry = str(root)
    if entry not in sys.path:
        sys.path.insert(0, entry)


def load_callable(spec: str, key: str) -> Callable[..., Any]:
    """Resolve `module:attr.path`; `key` is the config key that named it (for the error)."""
    module_name, _, attr_path = spec.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise FactoryError(f"[{key}] cannot import module {module_name!r} from {spec!r}: {error}") from error
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise FactoryError(f"[{key}] module {module_name!r} has no attribute {attr_path!r}") from None
    if not callable(target):
        raise FactoryError(f"[{key}] {spec!r} is not callable")
    # callable() narrowed it: a factory of any signature.
    return target  # type: ignore[no-any-return]


def call_factory(spec: str, key: str, *args: Any, **kwargs: Any) -> Any:
    """Call a configured factory; a TypeError from the call names the key and the arguments given."""
    factory = load_callable(spec, key)
    try:
        # Bind first, so a wrong keyword in the config is told apart from a TypeError inside the factory.
        inspect.signature(factory).bind(*args, **kwargs)
    except TypeError as error:
        raise FactoryError(f"[{key}] {spec} does not accept the arguments {sorted(kwargs)}: {error}") from None
    except ValueError:  # builtins without a signature: let the call speak for itself
        pass
    try:
        return factory(*args, **kwargs)
    except Exception as error:
        # The porter's traceback is kept (it is their code to debug), but its end names only their code: a
        # note, shown after the exception's line, says which config key was being built.
        error.add_note(f"[{key}] raised while calling {spec}")
        raise
