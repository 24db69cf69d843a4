"""What a porter's repo defines that a config can name: model classes and their factories, data builders,
metrics and prediction programs, found by reading the sources with `ast`.

Nothing is imported: the app never imports torch, paddle or the porter's code (the import contracts hold it to
that), so the framework of a definition is read from its module's own imports (`from torch import nn`,
`import paddle.nn as nn`), from the class it subclasses (a subclass of a model class found earlier is a model
too, in any module) or from `torch`/`paddle` in a function's name. A file that does not parse is passed over,
and the scan is bounded (file size, file count, time) so a big repo answers in a fraction of a second.

Module names are dotted paths from an import root: the workspace, or a folder inside it whose code imports a
top-level package that lives in that folder (a tutorial's `AlexNet_ref/torchvision/...`, imported as
`import torchvision`), or a folder whose name is no Python identifier. Such a folder belongs on `[run]
pythonpath`; `roots` says why each one was found.
"""

from __future__ import annotations

import ast
import keyword
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

TORCH, PADDLE = "torch", "paddle"
SKIPPED_DIRS = frozenset(
    {"site-packages", "node_modules", "__pycache__", "test_tipc", "result", "tests", "test", "build", "dist"}
)
MAX_FILE_BYTES = 256 * 1024  # a generated or vendored giant says nothing about the porter's factories
MAX_FILES = 2000  # python files considered, the shallowest first
MAX_ENTRIES = 50_000  # directory entries listed (a data folder of many images must not stall the walk)
TIME_BUDGET_S = 0.5

# Bases that make a class a model, by the qualified name its module's imports give them.
MODEL_BASE_PREFIXES = ((TORCH, "torch.nn."), (PADDLE, "paddle.nn."), (PADDLE, "paddle.fluid."))
MODEL_BASES = {
    "transformers.PreTrainedModel": TORCH,
    "transformers.modeling_utils.PreTrainedModel": TORCH,
    "paddlenlp.transformers.PretrainedModel": PADDLE,
}
DATA_NAME = re.compile(r"loader|dataset|^(build|get|create|make|load)_?\w*data", re.IGNORECASE)
METRIC_NAME = re.compile(r"accuracy|metric|^eval(uate)?(_|$)", re.IGNORECASE)
PREDICT_NAME = re.compile(r"predict|infer", re.IGNORECASE)
# build_* functions that build something other than a model, by a word of their name.
NOT_A_MODEL = re.compile(
    r"(^|_)(optim\w*|lr|sched\w*|loss|criterion|transforms?|augment\w*|token\w*|config|cfg|args?|\w*parser|log\w*)(_|$)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Definition:
    """One thing a config key can name: `kind` is "model" (a class), "factory" (a function returning a model
    class found here), "build" (another `build_*` function), "data", "metric" or "predict" (a prediction
    program)."""

    kind: str
    name: str
    module: str  # dotted, importable from `root`
    root: Path  # the import root: the workspace, or a folder that belongs on [run] pythonpath
    framework: str  # TORCH, PADDLE, or "" when the sources do not tell
    file: Path
    line: int
    signature: str  # "alexnet(pretrained=False, progress=True, **kwargs)"
    required: tuple[str, ...]  # positional parameters without a default (self excluded)
    positional: int  # parameters that can be given by position (a large number for *args)
    keywords: tuple[str, ...] = ()  # keyword-only parameters without a default
    returns: str = ""  # a factory's model class
    component: bool = False  # a model class other models are built of (a block, a layer)

    @property
    def spec(self) -> str:
        return f"{self.module}:{self.name}"


@dataclass(frozen=True)
class Scan:
    """What `scan_repo` found under `directory`."""

    directory: Path
    base: Path  # where module names start: the workspace, or `directory` when it lies outside
    definitions: tuple[Definition, ...]
    roots: dict[Path, str]  # import roots below `base` that the definitions need, with the reason for each
    files: int  # python files read
    skipped: tuple[str, ...]  # files passed over: "path: why"
    complete: bool  # False when a bound stopped the scan early
    seconds: float


# --- finding and reading the files ---------------------------------------------------------------------


def _python_files(directory: Path, deadline: float) -> tuple[list[Path], dict[Path, set[str]], bool]:
    """The .py files to read (breadth first, so the shallowest come first), each folder's importable names
    (sub-folders and module stems) and whether the walk saw everything."""
    files: list[Path] = []
    names: dict[Path, set[str]] = {}
    queue, listed = deque([directory]), 0
    while queue:
        if len(files) >= MAX_FILES or listed > MAX_ENTRIES or time.monotonic() > deadline:
            return files[:MAX_FILES], names, False
        folder = queue.popleft()
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            continue
        listed += len(entries)
        if any(entry.name == "pyvenv.cfg" for entry in entries):
            continue  # a virtual environment, whatever its name
        here = names.setdefault(folder, set())
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                here.add(entry.name)
                if not (entry.name.startswith(".") or entry.name in SKIPPED_DIRS or entry.name.endswith(".egg-info")):
                    queue.append(Path(entry.path))
            elif entry.name.endswith(".py"):
                here.add(entry.name[:-3])
                # A script named `01_train.py` cannot be imported, and tests define nothing a config names.
                if _identifier(entry.name[:-3]) and not _is_test(entry.name):
                    files.append(Path(entry.path))
    return files[:MAX_FILES], names, len(files) <= MAX_FILES


def _is_test(filename: str) -> bool:
    return filename.startswith("test_") or filename.endswith("_test.py") or filename == "conftest.py"


@dataclass
class _Class:
    name: str
    line: int
    bases: list[str]  # dotted, as written
    init: ast.FunctionDef | None
    names: set[str]  # names used in the body (for "built of")


@dataclass
class _Function:
    node: ast.FunctionDef
    returns: list[str]  # dotted names of what it may return: call targets, the annotation
    names: set[str]  # names used in the body
    arguments: set[str]  # names passed as call arguments (a block class given to its model)


@dataclass
class _Module:
    path: Path
    imports: dict[str, str]  # local name -> dotted target; a relative one keeps its leading dots
    top_level: set[str]  # top-level packages imported absolutely
    classes: list[_Class]
    functions: list[_Function]
    name: str = ""
    root: Path = field(default_factory=Path)

    @property
    def frameworks(self) -> set[str]:
        return {fw for fw in (TORCH, PADDLE) for top in self.top_level if top.startswith(fw)}


def _dotted(node: ast.expr) -> str:
    """`nn.Module` -> "nn.Module"; "" for anything that is no plain name (a call, a subscript)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else ""
    return ""


def _names_used(nodes: list[ast.stmt]) -> set[str]:
    return {node.id for stmt in nodes for node in ast.walk(stmt) if isinstance(node, ast.Name)}


def _imports(tree: ast.Module) -> tuple[dict[str, str], set[str]]:
    imports: dict[str, str] = {}
    top_level: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top_level.add(alias.name.split(".")[0])
                if alias.asname:
                    imports[alias.asname] = alias.name
                else:
                    imports[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            source = "." * node.level + (node.module or "")
            if node.level == 0 and node.module:
                top_level.add(node.module.split(".")[0])
            for alias in node.names:
                if alias.name != "*":
                    separator = "" if source.endswith(".") else "."
                    imports[alias.asname or alias.name] = f"{source}{separator}{alias.name}"
    return imports, top_level


def _returns(function: ast.FunctionDef) -> list[str]:
    """What a function may return, by name: `return ResNet(...)`, `model = AlexNet(...); return model`, and
    the return annotation."""
    assigned: dict[str, str] = {}
    returned: list[str] = []
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned[target.id] = _dotted(node.value.func)
        elif isinstance(node, ast.Return) and node.value is not None:
            if isinstance(node.value, ast.Call):
                returned.append(_dotted(node.value.func))
            elif isinstance(node.value, ast.Name):
                returned.append(assigned.get(node.value.id, ""))
    if function.returns is not None:
        annotation = function.returns
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            returned.append(annotation.value)  # a quoted annotation, "AlexNet"
        else:
            returned.append(_dotted(annotation))
    return [name for name in returned if name]


def _read(path: Path, source: bytes) -> _Module | str:
    """The facts of one file, or why it was passed over."""
    try:
        tree = ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError) as error:
        return f"does not parse ({type(error).__name__}: {getattr(error, 'msg', error)})"
    imports, top_level = _imports(tree)
    classes, functions = [], []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            init = next((s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
            bases = [_dotted(base) for base in node.bases]
            classes.append(_Class(node.name, node.lineno, [b for b in bases if b], init, _names_used(node.body)))
        elif isinstance(node, ast.FunctionDef):
            arguments = {
                argument.id
                for call in ast.walk(node)
                if isinstance(call, ast.Call)
                for argument in call.args
                if isinstance(argument, ast.Name)
            }
            functions.append(_Function(node, _returns(node), _names_used(node.body), arguments))
    return _Module(path, imports, top_level, classes, functions)


# --- import roots and module names -----------------------------------------------------------------------


def _identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _find_roots(modules: list[_Module], base: Path, names: dict[Path, set[str]]) -> dict[Path, str]:
    """Folders inside `base` whose code imports a top-level package or module that lives in that folder."""
    roots: dict[Path, str] = {}
    for module in modules:
        for top in sorted(module.top_level - names.get(base, set())):
            folder = module.path.parent
            while folder != base and base in folder.parents:
                if top in names.get(folder, set()):
                    if folder not in roots:
                        where = module.path.relative_to(base)
                        roots[folder] = f"`import {top}` in {where} finds {(folder / top).relative_to(base)}"
                    break
                folder = folder.parent
    return roots


def _name_module(module: _Module, base: Path, roots: dict[Path, str]) -> bool:
    """Give the module its dotted name and import root; False when no root makes it importable."""
    path = module.path
    if not _identifier(path.stem):
        return False
    root = max((folder for folder in roots if folder in path.parents), key=lambda f: len(f.parts), default=base)
    odd = [folder for folder in path.parents if root in folder.parents and not _identifier(folder.name)]
    if odd:  # a folder named `my-port`: only its inside is importable, with the folder on the path
        root = odd[0]
        roots.setdefault(root, f"the folder name {root.name!r} is no Python identifier")
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    if not parts:
        return False
    module.name, module.root = ".".join(parts), root
    return True


def _absolute(module: _Module, target: str) -> str:
    """A relative import target made absolute against the module's own package."""
    if not target.startswith("."):
        return target
    level = len(target) - len(target.lstrip("."))
    package = module.name.split(".") if module.path.name == "__init__.py" else module.name.split(".")[:-1]
    if level > 1:
        package = package[: -(level - 1)]
    rest = target[level:]
    return ".".join([*package, rest] if rest else package)


def _qualify(module: _Module, dotted: str) -> str:
    """A name as written in the module -> its qualified name: `nn.Module` -> `torch.nn.Module`."""
    head, _, rest = dotted.partition(".")
    if head in module.imports:
        target = _absolute(module, module.imports[head])
        return f"{target}.{rest}" if rest else target
    return f"{module.name}.{dotted}"


# --- what the definitions are --------------------------------------------------------------------------


def _base_framework(qualified: str) -> str:
    if qualified in MODEL_BASES:
        return MODEL_BASES[qualified]
    last = qualified.rsplit(".", 1)[-1]
    for framework, prefix in MODEL_BASE_PREFIXES:
        if qualified.startswith(prefix) and last[:1].isupper():
            return framework
    return ""


def _signature(node: ast.FunctionDef | None, skip_self: bool) -> tuple[str, tuple[str, ...], int, tuple[str, ...]]:
    """`(a, b=1, *args, **kw)`, the positional parameters without a default, how many parameters can be given by
    position, the keyword-only ones without a default."""
    if node is None:
        return "()", (), 0, ()
    arguments = node.args
    every = [*arguments.posonlyargs, *arguments.args]
    defaults: list[ast.expr | None] = [None] * (len(every) - len(arguments.defaults))
    pairs = list(zip(every, [*defaults, *arguments.defaults], strict=True))[1 if skip_self and every else 0 :]
    positional = [argument for argument, _ in pairs]
    parts, required, keywords = [], [], []
    for argument, default in pairs:
        parts.append(argument.arg if default is None else f"{argument.arg}={_short(default)}")
        if default is None:
            required.append(argument.arg)
    if arguments.vararg:
        parts.append(f"*{arguments.vararg.arg}")
    elif arguments.kwonlyargs:
        parts.append("*")
    for argument, kw_default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
        parts.append(argument.arg if kw_default is None else f"{argument.arg}={_short(kw_default)}")
        if kw_default is None:
            keywords.append(argument.arg)
    if arguments.kwarg:
        parts.append(f"**{arguments.kwarg.arg}")
    count = 1_000 if arguments.vararg else len(positional)
    return f"({', '.join(parts)})", tuple(required), count, tuple(keywords)


def _short(node: ast.expr) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 32 else text[:29] + "..."


_Key = tuple[Path, str]  # a definition: its module's file and its name (two roots may hold a `net.py` each)
_Facts = TypeVar("_Facts")
_Found = TypeVar("_Found")


def _fixed_point(
    entries: dict[_Key, tuple[_Module, _Facts]], derive: Callable[[_Module, _Facts, dict[_Key, _Found]], _Found | None]
) -> dict[_Key, _Found]:
    """What `derive` finds for each entry, given what was found so far, until nothing new is found: a subclass
    of a subclass, a factory of a factory, in whatever order the files were read."""
    found: dict[_Key, _Found] = {}
    changed = True
    while changed:
        changed = False
        for key, (module, facts) in entries.items():
            if key not in found and (value := derive(module, facts, found)) is not None:
                found[key], changed = value, True
    return found


class _Resolver:
    """Turns the modules' facts into definitions: which classes are models (following subclasses across
    modules), which functions return them, what the other functions build and for which framework."""

    def __init__(self, modules: list[_Module]) -> None:
        self.classes = {(m.path, c.name): (m, c) for m in modules for c in m.classes}
        self.functions = {(m.path, f.node.name): (m, f) for m in modules for f in m.functions}
        self.qualified: dict[str, list[_Key]] = {}
        self.by_name: dict[str, list[_Key]] = {}
        for module, key in [
            *((m, k) for k, (m, _) in self.classes.items()),
            *((m, k) for k, (m, _) in self.functions.items()),
        ]:
            self.qualified.setdefault(f"{module.name}.{key[1]}", []).append(key)
            self.by_name.setdefault(key[1], []).append(key)
        self.models = self._model_classes()
        self.factories = self._factories()

    def _lookup(self, module: _Module, dotted: str, known: Mapping[_Key, object]) -> _Key | None:
        """What a name written in `module` refers to among `known`: its own definition, an imported one (from
        the module's own import root first), else the one known definition of that bare name (a `from x
        import *`)."""
        if (module.path, dotted) in known:
            return (module.path, dotted)
        keys = [key for key in self.qualified.get(_qualify(module, dotted), []) if key in known]
        if keys:
            return min(keys, key=lambda key: not key[0].is_relative_to(module.root))
        same = [key for key in self.by_name.get(dotted.rsplit(".", 1)[-1], []) if key in known]
        return same[0] if len(same) == 1 else None

    def _model_classes(self) -> dict[_Key, str]:
        """{class: framework}: a class whose base is a framework's model base, or a model class found here."""

        def framework(module: _Module, cls: _Class, models: dict[_Key, str]) -> str | None:
            for base in cls.bases:
                parent = self._lookup(module, base, models)
                if found := _base_framework(_qualify(module, base)) or (models[parent] if parent else ""):
                    return found
            return None

        return _fixed_point(self.classes, framework)

    def _factories(self) -> dict[_Key, _Key]:
        """{function: the model class it returns}, following factories of factories (torchvision's
        `resnet18` returns `_resnet(...)`, which returns `ResNet(...)`)."""

        def returned(module: _Module, function: _Function, factories: dict[_Key, _Key]) -> _Key | None:
            for target in function.returns:
                factory = self._lookup(module, target, factories)
                if found := self._lookup(module, target, self.models) or (factories[factory] if factory else None):
                    return found
            return None

        return _fixed_point(self.functions, returned)

    def _init(self, key: _Key) -> ast.FunctionDef | None:
        """A model class's own `__init__`, or the one it inherits from a model class found here."""
        for _ in range(16):
            module, cls = self.classes[key]
            if cls.init is not None:
                return cls.init
            parents = [parent for base in cls.bases if (parent := self._lookup(module, base, self.models))]
            if not parents:
                break
            key = parents[0]
        return None

    def _framework(self, module: _Module, function: _Function) -> str:
        """A function's framework: by its name, else its module's imports, else what its body uses."""
        name = function.node.name.lower()
        named = [fw for fw in (TORCH, PADDLE) if fw in name]
        if len(named) == 1:
            return named[0]
        if len(module.frameworks) == 1:
            return next(iter(module.frameworks))
        used = []
        for used_name in function.names:  # imported framework modules, and model classes found here
            imported = _top_framework(_qualify(module, used_name)) if used_name in module.imports else ""
            model = self._lookup(module, used_name, self.models)
            used.append(imported or (self.models[model] if model else ""))
        counts = {fw: used.count(fw) for fw in (TORCH, PADDLE)}
        return max(counts, key=counts.__getitem__) if counts[TORCH] != counts[PADDLE] else ""

    def definitions(self) -> Iterator[Definition]:
        built_of = {
            name for key, (module, cls) in self.classes.items() if key in self.models for name in cls.names - {cls.name}
        } | {name for _, function in self.functions.values() for name in function.arguments}
        for key, framework in self.models.items():
            module, cls = self.classes[key]
            if cls.name.startswith("_"):
                continue
            signature, required, positional, keywords = _signature(self._init(key), skip_self=True)
            yield Definition(
                "model", cls.name, module.name, module.root, framework, module.path, cls.line,
                cls.name + signature, required, positional, keywords, component=cls.name in built_of,
            )  # fmt: skip
        for key, (module, function) in self.functions.items():
            node = function.node
            if node.name.startswith("_"):
                continue
            kind, framework, returns = "", "", ""
            if key in self.factories:
                kind, returned = "factory", self.factories[key]
                framework, returns = self.models[returned], returned[1]
            elif DATA_NAME.search(node.name):
                kind = "data"
            elif METRIC_NAME.search(node.name):
                kind = "metric"
            elif PREDICT_NAME.search(node.name):
                kind = "predict"
            elif node.name.startswith("build") and not NOT_A_MODEL.search(node.name[5:]):
                kind = "build"
            if not kind:
                continue
            framework = framework or self._framework(module, function)
            signature, required, positional, keywords = _signature(node, skip_self=False)
            yield Definition(
                kind, node.name, module.name, module.root, framework, module.path, node.lineno,
                node.name + signature, required, positional, keywords, returns=returns,
            )  # fmt: skip


def _top_framework(qualified: str) -> str:
    return next((fw for fw in (TORCH, PADDLE) if qualified.startswith(fw)), "")


# --- the scan ----------------------------------------------------------------------------------------------


def scan_repo(directory: Path | str, workspace: Path | str | None = None) -> Scan:
    """Read the python files under `directory` (module names are taken from `workspace`, the directory itself
    by default, when `directory` lies inside it) and return what they define."""
    started = time.monotonic()
    deadline = started + TIME_BUDGET_S
    directory = Path(directory).resolve()
    base = Path(workspace).resolve() if workspace is not None else directory
    if base != directory and base not in directory.parents:
        base = directory
    paths, names, complete = _python_files(directory, deadline)
    modules: list[_Module] = []
    skipped: list[str] = []
    # Files that name neither framework are read only when they name a model class or factory found in the
    # others (a subclass, a factory): most of a big repo's files are then never parsed.
    later: list[Path] = []
    for path, source in _sources(paths, skipped, base, deadline):
        if b"torch" in source or b"paddle" in source:
            _add(path, source, modules, skipped, base)
        else:
            later.append(path)
    wanted = _wanted_names(modules, base, names)
    if wanted and later:
        pattern = re.compile(rb"\b(" + b"|".join(re.escape(name.encode()) for name in sorted(wanted)) + rb")\b")
        for path, source in _sources(later, skipped, base, deadline):
            if pattern.search(source):
                _add(path, source, modules, skipped, base)
    roots = _find_roots(modules, base, names)
    named = [module for module in modules if _name_module(module, base, roots)]
    definitions = tuple(_Resolver(named).definitions())
    used_roots = {definition.root for definition in definitions}
    return Scan(
        directory=directory,
        base=base,
        definitions=definitions,
        roots={root: why for root, why in roots.items() if root in used_roots},
        files=len(modules) + len(skipped),
        skipped=tuple(skipped),
        complete=complete and time.monotonic() <= deadline,
        seconds=time.monotonic() - started,
    )


def _sources(paths: list[Path], skipped: list[str], base: Path, deadline: float) -> Iterator[tuple[Path, bytes]]:
    """Each file's bytes, until the deadline; a file too large is passed over, and said so."""
    for path in paths:
        if time.monotonic() > deadline:
            return
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                skipped.append(f"{path.relative_to(base)}: larger than {MAX_FILE_BYTES // 1024} KiB")
                continue
            yield path, path.read_bytes()
        except OSError:
            continue


def _add(path: Path, source: bytes, modules: list[_Module], skipped: list[str], base: Path) -> None:
    facts = _read(path, source)
    if isinstance(facts, str):
        skipped.append(f"{path.relative_to(base)}: {facts}")
    else:
        modules.append(facts)


def _wanted_names(modules: list[_Module], base: Path, names: dict[Path, set[str]]) -> set[str]:
    """The model classes and factories of the modules read so far (named provisionally)."""
    roots = _find_roots(modules, base, names)
    named = [module for module in modules if _name_module(module, base, dict(roots))]
    resolver = _Resolver(named)
    return {name for _, name in [*resolver.models, *resolver.factories]}
