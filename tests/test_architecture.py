"""The import rules of docs/architecture.md, checked on the source text.

Every .py file of the project is parsed with `ast`, never imported: a forbidden import inside a function
(which only runs on some path) is found as surely as one at the top of a module. A failure names each
offending file:line.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import os
from collections.abc import Callable, Iterator, Sequence, Set
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Folders that hold no project code: environments, build output, a rehearsal's files.
SKIPPED_DIRS = {"__pycache__", "node_modules", "media", "staticfiles", "artifacts", "out"}


@dataclass(frozen=True)
class Import:
    path: str  # relative to ROOT, with forward slashes
    line: int
    module: str  # absolute dotted name, submodules of `from package import module` resolved


@dataclass(frozen=True)
class Rule:
    id: str
    sources: tuple[str, ...]  # globs relative to ROOT: a named file must exist, and the rule must match one
    forbids: Callable[[str], bool]
    # Also check every project module the sources import, at any depth (a serving path is only as
    # torch-free as what it pulls in).
    transitive: bool = False
    excluded: tuple[str, ...] = ()


def packages(*names: str) -> Callable[[str], bool]:
    return lambda module: any(module == name or module.startswith(name + ".") for name in names)


def presentation_modules(module: str) -> bool:
    """A project module that speaks HTTP: views, APIs, serializers (also `export_apis` and the like)."""
    if module.split(".")[0] not in project_packages():
        return False
    last = module.rsplit(".", 1)[-1]
    return any(last == name or last.endswith("_" + name) for name in ("views", "apis", "serializers"))


APPS_ABOVE_QUIZ = ("modelzoo", "uploads", "videos", "dashboard", "datasets", "simulation")
# Serving, and every module the inference worker runs for an upload or for scoring the pool.
SERVING_PATH = (
    "modelzoo/ml/serving.py",
    "modelzoo/inference.py",
    "*/scoring.py",
    "uploads/tasks.py",
    "videos/tasks.py",
    "videos/decoding.py",
    "videos/management/commands/classify_video.py",
)
DOMAIN_LAYER = ("*/services.py", "*/selectors.py", "*/services/*.py", "*/selectors/*.py")
NOT_PRODUCTION = ("simulation/**", "tests/**", "bench/**", "docs/**")

# Which files (sources) may never import what. docs/architecture.md explains why.
# fmt: off
RULES = (
    Rule("quiz-never-imports-modelzoo-uploads-dashboard-datasets-simulation", ("quiz/**",), packages(*APPS_ABOVE_QUIZ)),
    Rule("modelzoo-never-imports-uploads-dashboard-datasets-simulation", ("modelzoo/**",),
         packages("uploads", "dashboard", "datasets", "simulation")),
    Rule("uploads-never-imports-dashboard-datasets-simulation", ("uploads/**",),
         packages("dashboard", "datasets", "simulation")),
    Rule("datasets-never-imports-modelzoo-uploads-dashboard-simulation", ("datasets/**",),
         packages("modelzoo", "uploads", "dashboard", "simulation")),
    Rule("nothing-imports-dashboard", ("**",), packages("dashboard"), excluded=("dashboard/**", "tests/**")),
    Rule("no-production-code-imports-simulation", ("**",), packages("simulation"), excluded=NOT_PRODUCTION),
    Rule("serving-path-never-imports-torch", SERVING_PATH, packages("torch", "torchvision"), transitive=True),
    Rule("services-and-selectors-never-import-views-apis-serializers", DOMAIN_LAYER, presentation_modules),
    Rule("nothing-imports-tests", ("**",), packages("tests"), excluded=("tests/**",)),
)
# fmt: on


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_it_finds_no_forbidden_import(rule):
    violations = forbidden_imports(rule, project_imports())
    assert not violations, f"{rule.id}:\n" + "\n".join(
        f"  {found.path}:{found.line} imports {found.module}" for found in violations
    )


def test_it_names_file_and_line_of_a_forbidden_import_inside_a_function():
    source = "import json\n\n\ndef score():\n    from modelzoo.inference import classifier_for\n"
    files = {"quiz/scoring.py", "modelzoo/inference.py"}
    imports = list(imports_in(source, "quiz/scoring.py", files=files))
    rule = Rule("quiz", sources=("quiz/**",), forbids=packages("modelzoo"))

    assert forbidden_imports(rule, imports, files=files) == [Import("quiz/scoring.py", 5, "modelzoo.inference")]


def test_it_follows_imports_into_other_modules_for_a_transitive_rule():
    imports = [
        Import("modelzoo/inference.py", 3, "modelzoo.ml.helpers"),
        Import("modelzoo/ml/helpers.py", 7, "torch.nn"),
    ]
    rule = Rule("serving", sources=("modelzoo/inference.py",), forbids=packages("torch"), transitive=True)

    assert forbidden_imports(rule, imports, files={"modelzoo/inference.py", "modelzoo/ml/helpers.py"}) == [
        Import("modelzoo/ml/helpers.py", 7, "torch.nn")
    ]


# --- the checker ------------------------------------------------------------------------------------


def forbidden_imports(rule: Rule, imports: Sequence[Import], files: Set[str] | None = None) -> list[Import]:
    files = project_files() if files is None else files
    checked = sources_of(rule, files)
    if rule.transitive:
        checked = reachable(checked, imports, files)
    return sorted(
        (found for found in imports if found.path in checked and rule.forbids(found.module)),
        key=lambda found: (found.path, found.line),
    )


def sources_of(rule: Rule, files: Set[str]) -> set[str]:
    chosen = set()
    for pattern in rule.sources:
        matched = {path for path in files if matches(path, pattern)}
        # A named file that is gone, or a rule that matches nothing, would pass by checking nothing.
        assert matched or "*" in pattern, f"{rule.id}: {pattern} does not exist"
        chosen |= matched
    chosen = {path for path in chosen if not any(matches(path, pattern) for pattern in rule.excluded)}
    assert chosen, f"{rule.id}: no file matches {', '.join(rule.sources)}"
    return chosen


def matches(path: str, pattern: str) -> bool:
    if pattern.endswith("/**"):
        return path.startswith(pattern[:-2])
    return pattern == "**" or fnmatch.fnmatchcase(path, pattern)


def reachable(start: set[str], imports: Sequence[Import], files: Set[str]) -> set[str]:
    by_path: dict[str, list[str]] = {}
    for found in imports:
        by_path.setdefault(found.path, []).append(found.module)
    seen, todo = set(), list(start)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in by_path.get(path, []):
            todo.extend(module_files(module, files))
    return seen


def module_files(module: str, files: Set[str]) -> list[str]:
    """The files that importing `module` runs: its own and every enclosing package's __init__.py."""
    parts = module.split(".")
    found = []
    for depth in range(1, len(parts) + 1):
        base = "/".join(parts[:depth])
        found += [path for path in (base + ".py", base + "/__init__.py") if path in files]
    return found


def is_module(name: str, files: Set[str]) -> bool:
    base = name.replace(".", "/")
    return base + ".py" in files or base + "/__init__.py" in files


@functools.cache
def project_imports() -> tuple[Import, ...]:
    found = []
    for path in sorted(project_files()):
        found += imports_in((ROOT / path).read_text(encoding="utf-8"), path, files=project_files())
    return tuple(found)


def imports_in(source: str, path: str, *, files: Set[str]) -> Iterator[Import]:
    """Every import statement of a file, wherever it sits (module level, function, class, `if`)."""
    for node in ast.walk(ast.parse(source, filename=path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = absolute_module(node, path)
            yield Import(path, node.lineno, base)
            # `from quiz import apis` imports the module quiz.apis, not just the package quiz.
            for alias in node.names:
                if is_module(f"{base}.{alias.name}", files):
                    yield Import(path, node.lineno, f"{base}.{alias.name}")


def absolute_module(node: ast.ImportFrom, path: str) -> str:
    if not node.level:
        return node.module or ""
    package = path.split("/")[: -node.level]
    return ".".join(package + ([node.module] if node.module else []))


@functools.cache
def project_files() -> frozenset[str]:
    found = set()
    for folder, dirs, names in os.walk(ROOT):
        dirs[:] = [name for name in dirs if not name.startswith(".") and name not in SKIPPED_DIRS]
        relative = Path(folder).relative_to(ROOT)
        found |= {(relative / name).as_posix() for name in names if name.endswith(".py")}
    return frozenset(found)


@functools.cache
def project_packages() -> frozenset[str]:
    return frozenset(path.split("/")[0].removesuffix(".py") for path in project_files())
