"""Which torch APIs of a PyTorch tree Paddle's torch proxy (`paddle.enable_compat`, Paddle 3.3) lacks.

`python -m paddle_port_checks.compat SRC [--json]`: every torch API the sources name (`torch.x`, `nn.X` and
`F.x` through their import aliases, names imported from torch modules) is read from the code with `ast`
(nothing of SRC runs), then looked up with the proxy on: `import torch` gives Paddle's modules, and what is not
there is what the code would miss if run unchanged. The quickest map of what a port needs. Exit 0 every API
is there, 1 some are missing, 2 bad usage or no proxy in this Paddle.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

_SKIP_DIRS = {"__pycache__", ".git", ".venv", "venv", "build", "dist"}


@dataclass
class Api:
    name: str  # e.g. torch.nn.TransformerEncoderLayer
    places: list[str] = field(default_factory=list)  # file:line, relative to SRC
    available: bool = True
    why: str = ""  # the lookup's error when missing


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> the torch module or object it stands for, from the file's imports."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "torch" or alias.name.startswith("torch."):
                    # `import torch.nn` binds `torch`; `import torch.nn as nn` binds `nn` to torch.nn.
                    names[alias.asname or "torch"] = alias.name if alias.asname else "torch"
        elif _from_torch(node):
            assert isinstance(node, ast.ImportFrom)
            for alias in node.names:
                if alias.name != "*":
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _from_torch(node: ast.AST) -> bool:
    """`from torch... import ...` (absolute)."""
    if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
        return False
    return node.module == "torch" or node.module.startswith("torch.")


def _chain(node: ast.AST) -> list[str] | None:
    """`a.b.c` -> ["a", "b", "c"]; None for anything that is not names and attributes."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def torch_apis(src: Path) -> dict[str, Api]:
    """Every torch API the tree's sources name, with where."""
    apis: dict[str, Api] = {}
    for path in sorted(src.rglob("*.py")):
        if _SKIP_DIRS.intersection(path.relative_to(src).parts[:-1]):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        aliases = _aliases(tree)
        relative = path.relative_to(src).as_posix()
        seen_inner: set[int] = set()  # `torch.nn.Linear` is one API, not also `torch.nn` and `torch`
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and id(node) not in seen_inner:
                chain = _chain(node)
                inner = node.value
                while isinstance(inner, ast.Attribute):
                    seen_inner.add(id(inner))
                    inner = inner.value
                if chain and chain[0] in aliases:
                    name = ".".join([aliases[chain[0]], *chain[1:]])
                    apis.setdefault(name, Api(name)).places.append(f"{relative}:{node.lineno}")
            elif _from_torch(node):
                assert isinstance(node, ast.ImportFrom)
                for alias in node.names:
                    name = f"{node.module}.{alias.name}"
                    if alias.name != "*":
                        apis.setdefault(name, Api(name)).places.append(f"{relative}:{node.lineno}")
    return apis


def _lookup(name: str) -> str:
    """ "" when `name` resolves with the proxy on, else the error."""
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        except Exception as error:  # a proxy module that fails on import
            return f"{type(error).__name__}: {error}"
        for attr in parts[split:]:
            try:
                found = getattr(found, attr)
            except AttributeError:
                return f"{'.'.join(parts[:split])} has no attribute {attr!r} under the proxy"
        return ""
    return f"no module {parts[0]!r} under the proxy"


def check(src: Path) -> list[Api]:
    """The tree's torch APIs, each looked up with Paddle's torch proxy on (in this process)."""
    import paddle

    apis = torch_apis(src)
    paddle.enable_compat(silent=True)
    try:
        for api in apis.values():
            api.why = _lookup(api.name)
            api.available = not api.why
    finally:
        paddle.disable_compat()
    return sorted(apis.values(), key=lambda api: (api.available, api.name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paddle_port_checks.compat", description=__doc__)
    parser.add_argument("src", metavar="SRC", help="the PyTorch source tree (read, never run)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    src = Path(args.src).resolve()
    if not src.is_dir():
        print(f"compat: {src}: not a folder", file=sys.stderr)
        return 2
    import paddle

    if not hasattr(paddle, "enable_compat"):
        print(
            f"compat: paddle {paddle.__version__} has no torch proxy (paddle.enable_compat, Paddle 3.3)",
            file=sys.stderr,
        )
        return 2
    apis = check(src)
    missing = [api for api in apis if not api.available]
    if args.json:
        document = {"src": str(src), "paddle": paddle.__version__, "apis": [asdict(api) for api in apis]}
        print(json.dumps({**document, "missing": len(missing)}, indent=2))
    else:
        print(
            f"{len(apis)} torch APIs in {src}, {len(missing)} missing under paddle {paddle.__version__}'s torch proxy"
        )
        for api in missing:
            print(f"  {api.name}: {', '.join(api.places[:5])}{' ...' if len(api.places) > 5 else ''} ({api.why})")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
