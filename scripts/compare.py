#!/usr/bin/env python3
"""Tabulates what hassec, ruff (S rules), bandit and semgrep report per checklist item.

Reads the JSON reports that scripts/compare.sh wrote for one scanned target
(`<dir>/hassec.json`, `ruff.json`, `bandit.json`, `semgrep.json`, `times.txt`) and
prints Markdown: findings per checklist item and tool, where each generic tool agrees
with hassec (same file, overlapping lines), what each tool reports off the checklist,
and wall times. With --samples it also writes, per tool and item, an evenly spread
sample of findings with the source lines, for reading by hand.

Standard library only: it runs under the benchmark virtualenv's Python.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

# The checklist items, as hassec's rule catalog names them.
ITEMS = {
    "HAS101": "credentials-in-options",
    "HAS102": "secret-field-not-masked",
    "HAS103": "credentials-in-entity-attributes",
    "HAS104": "credentials-in-diagnostics",
    "HAS105": "hardcoded-secret",
    "HAS201": "token-expiry-without-buffer",
    "HAS202": "secret-in-url-query",
    "HAS203": "credentials-embedded-in-url",
    "HAS301": "ssl-verification-disabled",
    "HAS302": "insecure-http-url",
    "HAS303": "credentials-over-http",
    "HAS304": "request-without-timeout",
    "HAS401": "service-without-schema",
    "HAS402": "path-traversal",
    "HAS501": "secret-logged",
    "HAS502": "sensitive-mapping-logged",
    "HAS503": "error-reveals-internals",
    "HAS601": "auth-failure-not-reauth",
    "HAS602": "reauth-flow-missing",
    "HAS603": "unmanaged-http-session",
    "HAS701": "sql-injection",
    "HAS702": "command-injection",
    "HAS703": "unsafe-deserialization",
    "HAS704": "unsafe-xml-parser",
    "HAS705": "code-injection",
    "HAS706": "unpinned-requirement",
    "HAS707": "runtime-package-install",
}


def _span(prefix: str, first: int, last: int) -> list[str]:
    return [f"{prefix}{n}" for n in range(first, last + 1)]


# ruff's flake8-bandit rules and bandit's tests that address a checklist item.
# Rules that are near an item but contradict one of its "Not" cases (S603/B603:
# subprocess with a list and no shell) are deliberately left unmapped.
RUFF_MAP = {
    **dict.fromkeys(["S105", "S106", "S107"], "HAS105"),
    **dict.fromkeys(["S501", "S323"], "HAS301"),
    "S113": "HAS304",
    "S608": "HAS701",
    **dict.fromkeys(["S601", "S602", "S604", "S605", "S609"], "HAS702"),
    **dict.fromkeys(["S301", "S302", "S403", "S506"], "HAS703"),
    **dict.fromkeys(_span("S", 313, 320) + _span("S", 405, 411), "HAS704"),
    **dict.fromkeys(["S102", "S307"], "HAS705"),
}
BANDIT_MAP = {
    **dict.fromkeys(["B105", "B106", "B107"], "HAS105"),
    **dict.fromkeys(["B501", "B323"], "HAS301"),
    "B113": "HAS304",
    "B608": "HAS701",
    **dict.fromkeys(["B601", "B602", "B604", "B605", "B609"], "HAS702"),
    **dict.fromkeys(["B301", "B302", "B403", "B506"], "HAS703"),
    **dict.fromkeys(_span("B", 313, 320) + _span("B", 405, 411), "HAS704"),
    **dict.fromkeys(["B102", "B307"], "HAS705"),
}
TOOLS = ["hassec", "ruff", "bandit", "semgrep"]


class Finding:
    __slots__ = ("tool", "code", "item", "path", "first", "last")

    def __init__(self, tool, code, item, path, first, last):
        self.tool, self.code, self.item = tool, code, item
        self.path, self.first, self.last = path, first, max(first, last)


def _rel(path: str, root: Path) -> str:
    p = Path(path)
    if not p.is_absolute():
        p = Path.cwd() / p
    try:
        return str(p.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(p)


def load(tool: str, report: Path, root: Path) -> list[Finding]:
    data = json.loads(report.read_text())
    found = []
    if tool == "hassec":
        for f in data:
            found.append(Finding(tool, f["rule"], f["rule"], _rel(f["path"], root),
                                 f["start"]["line"], f["end"]["line"]))
    elif tool == "ruff":
        for f in data:
            code = f.get("code") or "syntax-error"
            found.append(Finding(tool, code, RUFF_MAP.get(code), _rel(f["filename"], root),
                                 f["location"]["row"], f["end_location"]["row"]))
    elif tool == "bandit":
        for f in data["results"]:
            lines = f.get("line_range") or [f["line_number"]]
            found.append(Finding(tool, f["test_id"], BANDIT_MAP.get(f["test_id"]),
                                 _rel(f["filename"], root), min(lines), max(lines)))
    elif tool == "semgrep":
        for f in data["results"]:
            code = f["check_id"].rsplit(".", 1)[-1]
            item = (f["extra"].get("metadata") or {}).get("hassec")
            found.append(Finding(tool, code, item, _rel(f["path"], root),
                                 f["start"]["line"], f["end"]["line"]))
    return found


def tool_errors(tool: str, report: Path) -> int:
    """Files the tool could not analyse (parse errors and the like)."""
    data = json.loads(report.read_text())
    if tool in ("bandit", "semgrep"):
        return len(data.get("errors", []))
    if tool == "ruff":
        return sum(1 for f in data if not f.get("code"))
    return 0


def overlaps(a: Finding, others: list[Finding]) -> bool:
    return any(a.first <= o.last and o.first <= a.last for o in others)


def read_times(path: Path) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    if not path.exists():
        return times
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] in TOOLS:
            times[parts[0]] = [float(x) for x in parts[1:]]
    return times


def cell(n: int | None) -> str:
    return "-" if n is None else str(n)


def report(results: Path, root: Path, label: str, rules_on_main: set[str]) -> str:
    findings = {t: load(t, results / f"{t}.json", root) for t in TOOLS if (results / f"{t}.json").exists()}
    by_item: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for tool, fs in findings.items():
        for f in fs:
            if f.item:
                by_item[f.item][tool].append(f)
    out = [f"### {label}: findings per checklist item\n"]
    out.append("A tool with no rule for an item shows `-`; `0` means it has rules for the item and reported nothing. "
               "hassec `-` means the rule is not implemented in the build that ran.\n")
    out.append("| item | hassec | ruff S | bandit | semgrep (ours) |")
    out.append("|---|---:|---:|---:|---:|")
    ruff_items = set(RUFF_MAP.values())
    bandit_items = set(BANDIT_MAP.values())
    semgrep_items = {f.item for f in findings.get("semgrep", []) if f.item} | SEMGREP_ITEMS
    for item, name in ITEMS.items():
        counts = []
        for tool, has_rules in (("hassec", item in rules_on_main), ("ruff", item in ruff_items),
                                ("bandit", item in bandit_items), ("semgrep", item in semgrep_items)):
            counts.append(cell(len(by_item[item][tool]) if has_rules else None))
        out.append(f"| {item} {name} | " + " | ".join(counts) + " |")

    out.append(f"\n### {label}: agreement with hassec (same file, overlapping lines)\n")
    out.append("`both` = tool findings on a line hassec also reports for the item; `tool only` = the rest of the "
               "tool's findings; `hassec only` = hassec findings the tool has nothing on.\n")
    out.append("| item | tool | both | tool only | hassec only |")
    out.append("|---|---|---:|---:|---:|")
    for item in ITEMS:
        if item not in rules_on_main:
            continue
        ours = by_item[item]["hassec"]
        for tool, tool_items in (("ruff", ruff_items), ("bandit", bandit_items), ("semgrep", semgrep_items)):
            theirs = by_item[item][tool]
            if item not in tool_items:
                continue
            theirs_by_path = defaultdict(list)
            for f in theirs:
                theirs_by_path[f.path].append(f)
            ours_by_path = defaultdict(list)
            for f in ours:
                ours_by_path[f.path].append(f)
            both = sum(1 for f in theirs if overlaps(f, ours_by_path[f.path]))
            hassec_only = sum(1 for f in ours if not overlaps(f, theirs_by_path[f.path]))
            out.append(f"| {item} | {tool} | {both} | {len(theirs) - both} | {hassec_only} |")

    out.append(f"\n### {label}: findings off the checklist\n")
    out.append("| tool | findings | by code |")
    out.append("|---|---:|---|")
    for tool in ("ruff", "bandit", "semgrep"):
        off = Counter(f.code for f in findings.get(tool, []) if not f.item)
        detail = ", ".join(f"{code} {n}" for code, n in sorted(off.items())) or "none"
        out.append(f"| {tool} | {sum(off.values())} | {detail} |")

    out.append(f"\n### {label}: totals and one timed run\n")
    out.append("| tool | findings | on checklist | files not analysed | wall s | user+sys s | peak RSS MiB |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    times = read_times(results / "times.txt")
    for tool in TOOLS:
        if tool not in findings:
            continue
        fs = findings[tool]
        t = times.get(tool)
        timing = (f"{t[0]:.2f} | {t[1] + t[2]:.2f} | {t[3] / 1024:.0f}" if t else "- | - | -")
        errors = tool_errors(tool, results / f"{tool}.json")
        out.append(f"| {tool} | {len(fs)} | {sum(1 for f in fs if f.item)} | {errors} | {timing} |")
    honoured = results / "ruff-noqa-honoured.json"
    if honoured.exists():
        kept = load("ruff", honoured, root)
        out.append(f"\nruff honouring the code's own `# noqa` comments: {len(kept)} findings, "
                   f"{sum(1 for f in kept if f.item)} on the checklist "
                   f"({len(findings.get('ruff', [])) - len(kept)} suppressed in the source).")
    return "\n".join(out) + "\n"


# Items the semgrep rule file has rules for (read from its metadata).
SEMGREP_ITEMS: set[str] = set()


def read_semgrep_items(rules: Path) -> set[str]:
    items = set()
    for line in rules.read_text().splitlines():
        if "hassec:" in line:
            items.add(line.split("hassec:")[1].strip(" }"))
    return items


def samples(results: Path, root: Path, per_item: int) -> str:
    """Evenly spread findings per (tool, item) with their source lines."""
    out = []
    for tool in TOOLS:
        report_path = results / f"{tool}.json"
        if not report_path.exists():
            continue
        groups: dict[str, list[Finding]] = defaultdict(list)
        for f in load(tool, report_path, root):
            if f.item:
                groups[f.item].append(f)
        for item in sorted(groups):
            fs = sorted(groups[item], key=lambda f: (f.path, f.first))
            step = max(1, len(fs) // per_item)
            picked = fs[::step][:per_item]
            out.append(f"\n## {tool} {item} ({len(fs)} findings, {len(picked)} shown)\n")
            for f in picked:
                try:
                    lines = (root / f.path).read_text(errors="replace").splitlines()
                except OSError:
                    lines = []
                snippet = " | ".join(l.strip() for l in lines[f.first - 1:min(f.last, f.first + 2)])
                out.append(f"- `{f.path}:{f.first}` {f.code}: `{snippet[:220]}`")
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="directory with <tool>.json and times.txt")
    parser.add_argument("--root", type=Path, required=True, help="the scanned directory")
    parser.add_argument("--label", required=True)
    parser.add_argument("--rules", type=Path, required=True, help="hassec rules/ directory that was built")
    parser.add_argument("--semgrep-rules", type=Path, required=True)
    parser.add_argument("--samples", type=Path, help="also write samples (Markdown) here")
    parser.add_argument("--per-item", type=int, default=10)
    args = parser.parse_args()
    SEMGREP_ITEMS.update(read_semgrep_items(args.semgrep_rules))
    rules_on_main = {name[:6] for name in os.listdir(args.rules) if name.startswith("HAS")}
    sys.stdout.write(report(args.results, args.root, args.label, rules_on_main))
    if args.samples:
        args.samples.write_text(samples(args.results, args.root, args.per_item))
    return 0


if __name__ == "__main__":
    sys.exit(main())
