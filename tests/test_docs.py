"""The README stays a front door and docs/ stays true to the code it describes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
# Where a setting may be documented: the reference table, or beside the deployment step that needs it.
SETTINGS_DOCS = (ROOT / "docs" / "configuration.md", ROOT / "docs" / "deploy.md")
LINK = re.compile(r"\]\(([^)\s]+)\)|<img [^>]*src=\"([^\"]+)\"")


def test_it_keeps_the_readme_under_ten_thousand_characters():
    assert len(README.read_text(encoding="utf-8")) < 10_000


def test_it_gives_the_two_quick_start_commands_that_ci_runs():
    readme = README.read_text(encoding="utf-8")

    assert re.search(r"^make run +# ", readme, re.M) and re.search(r"^make test +# ", readme, re.M)
    # CI runs what the README tells a newcomer to run, so the front door cannot rot unnoticed.
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.M)


def test_it_resolves_every_relative_link_of_the_readme_and_docs():
    broken = [
        f"{page.relative_to(ROOT)}: {target}"
        for page in [README, *DOCS]
        for target in relative_links(page.read_text(encoding="utf-8"))
        if not (page.parent / target.partition("#")[0]).exists()
    ]
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_it_documents_every_environment_setting():
    documented = "".join(page.read_text(encoding="utf-8") for page in SETTINGS_DOCS)
    missing = sorted(name for name in environment_settings() if f"`{name}`" not in documented)
    assert not missing, f"settings read from the environment but not in docs/configuration.md: {missing}"


def relative_links(text: str) -> list[str]:
    links = (match.group(1) or match.group(2) for match in LINK.finditer(text))
    return [link for link in links if not re.match(r"[a-z]+:", link) and not link.startswith("#")]


def environment_settings() -> set[str]:
    """Every variable name the project package reads: the first argument of env_*() and os.environ.get()."""
    names = set()
    for path in (ROOT / "corrosiondetector").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and reads_environment(node.func) and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.isupper():
                    names.add(first.value)
    assert len(names) > 50, "the settings reader changed shape: this test no longer sees the settings"
    return names


def reads_environment(func: ast.expr) -> bool:
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if name.startswith(("env_", "_env_")) or name == "getenv":
        return True
    return name == "get" and isinstance(func, ast.Attribute) and ast.unparse(func.value).endswith("environ")
