"""axe-core (package.json, `npm ci`) run inside a page the browser tests have open.

    assert_no_serious_axe_violations(page)

fails with a readable list when axe finds a serious or critical violation of WCAG 2.x A/AA or of its
best practices; minor and moderate ones are left to people (docs/translations.md, *Accessibility*).
"""

from __future__ import annotations

from pathlib import Path

from conftest import unavailable

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")
RUN_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
    "resultTypes": ["violations"],
}


def axe_violations(page) -> list[dict]:
    """Every violation axe finds on the page as it is now (its open dialogs and current language included)."""
    if not AXE.exists():
        unavailable(f"axe-core is not installed at {AXE} (npm ci)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate("options => axe.run(document, options).then(results => results.violations)", RUN_OPTIONS)


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"][:5]:
            # failureSummary: "Fix any of the following:" then the checks that failed, the likeliest first.
            summary = node["failureSummary"].splitlines()[1:] or [""]
            lines.append(f"    at {' '.join(map(str, node['target']))}: {summary[0].strip()}")
        if len(violation["nodes"]) > 5:
            lines.append(f"    … and {len(violation['nodes']) - 5} more")
    return "\n".join(lines)


def assert_no_serious_axe_violations(page) -> None:
    serious = [violation for violation in axe_violations(page) if violation["impact"] in FAILING_IMPACTS]
    assert not serious, f"axe-core on {page.url}:\n{describe(serious)}"
