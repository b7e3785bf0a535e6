#!/usr/bin/env python3
"""Scores hassec on the wild corpus: real cases from public custom integrations.

Each row of tests/wild/cases.tsv names a repository, a commit, a file, a line and
the rule family whose risk applies there, as a `leak` (must be found) or a `trap`
(a look-alike that must stay quiet). This script materialises every repository at
its commit (from existing bare git mirrors, or by cloning), runs hassec once per
checkout as a user would (`hassec scan` of the whole repository), and compares.

A leak is found when hassec reports the row's rule on that file at the row's line
(a finding whose span covers it, or that starts within LINE_SLACK lines of it).
A trap is flagged when the row's rule is reported on that file by a finding
whose span covers the row's line, at warning or error level; a trap reported
only as a note (a TLS opt-out toward the user's own device) is counted apart,
as noted.

Only the standard library; nothing of the scanned code is executed or imported.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

LINE_SLACK = 2
COLUMNS = ["id", "repo", "commit", "file", "line", "family", "kind", "reported", "note"]


def read_cases(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle, delimiter="\t") if row and not row[0].startswith("#")]
    header, body = rows[0], rows[1:]
    if header != COLUMNS:
        sys.exit(f"{path}: header must be {' '.join(COLUMNS)}")
    cases = []
    for number, row in enumerate(body, start=2):
        if len(row) != len(COLUMNS):
            sys.exit(f"{path}:{number}: expected {len(COLUMNS)} tab-separated fields, got {len(row)}")
        case = dict(zip(COLUMNS, row))
        if case["kind"] not in ("leak", "trap"):
            sys.exit(f"{path}:{number}: kind must be leak or trap")
        if len(case["commit"]) != 40:
            sys.exit(f"{path}:{number}: commit must be a full 40-hex id")
        # A line, or several where the problem sits (a flag set to False, and
        # the calls it disables verification in): a finding on any counts.
        case["lines"] = [int(n) for n in case["line"].split(",")]
        cases.append(case)
    ids = collections.Counter(c["id"] for c in cases)
    if duplicated := [i for i, n in ids.items() if n > 1]:
        sys.exit(f"{path}: duplicate ids {duplicated}")
    return cases


def git_dir(repo: str, mirrors: Path | None, clones: Path) -> Path:
    """A bare git directory holding `repo`: a mirror if one is given, else a clone."""
    if mirrors:
        for candidate in (mirrors / repo.replace("/", "+") / "repo", mirrors / repo.replace("/", "+")):
            if (candidate / "HEAD").is_file():
                return candidate
        sys.exit(f"no mirror of {repo} under {mirrors}")
    target = clones / (repo.replace("/", "+") + ".git")
    if not target.exists():
        subprocess.run(
            ["git", "clone", "--bare", "--filter=blob:none", "--quiet", f"https://github.com/{repo}.git", str(target)],
            check=True,
        )
    return target


def materialise(git: Path, commit: str, into: Path) -> None:
    """Writes the files of `commit` that a scan reads (Python files, manifests)
    into `into`, blob by blob: no checkout, no hooks, no links, and mirrors that
    lack large unrelated files still serve. Every file written is one git
    tracks, which a scan of a clone reads whatever .gitignore says: so
    .gitignore is not written."""
    if into.exists():
        return
    listing = subprocess.run(
        ["git", f"--git-dir={git}", "ls-tree", "-r", "-z", commit],
        check=True,
        capture_output=True,
    ).stdout.decode("utf-8", "surrogateescape")
    staging = into.with_name(into.name + ".partial")
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        mode, kind, blob = meta.split()
        name = path.rsplit("/", 1)[-1]
        wanted = name.endswith(".py") or name == "manifest.json"
        if kind != "blob" or mode == "120000" or not wanted or ".." in path.split("/"):
            continue
        read = subprocess.run(["git", f"--git-dir={git}", "cat-file", "blob", blob], capture_output=True)
        if read.returncode != 0:
            # Mirrors may leave out very large files; say so, scan the rest.
            print(f"note: {path} at {commit[:12]} is not in {git}; left out", file=sys.stderr)
            continue
        content = read.stdout
        target = staging / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    staging.mkdir(parents=True, exist_ok=True)
    staging.rename(into)


def scan(hassec: str, checkout: Path) -> list[dict]:
    result = subprocess.run(
        [hassec, "scan", "--isolated", "--no-cache", "--format", "json", "--fail-on", "never", "."],
        cwd=checkout,
        capture_output=True,
        text=True,
    )
    if result.returncode not in (0, 1):
        sys.exit(f"hassec failed on {checkout}: {result.stderr}")
    return json.loads(result.stdout)


# A secret reaching a log: HAS501 reports it as a value, HAS502 inside a whole
# mapping, and which of them fires depends on how the code holds it.
LOG_FAMILY = {"HAS501", "HAS502"}


def hits(case: dict, findings: list[dict]) -> list[dict]:
    """A leak's findings: on its line, or starting within LINE_SLACK lines of it.
    A trap's: only those whose span covers its line. HAS501 and HAS502 are one
    family (LOG_FAMILY)."""
    family = LOG_FAMILY if case["family"] in LOG_FAMILY else {case["family"]}
    near = LINE_SLACK if case["kind"] == "leak" else 0
    return [
        f
        for f in findings
        if f["rule"] in family
        and f["path"].removeprefix("./") == case["file"]
        and any(
            f["start"]["line"] <= line <= f["end"]["line"] or abs(f["start"]["line"] - line) <= near
            for line in case["lines"]
        )
    ]


REVIEW_COLUMNS = ["rule", "repo", "commit", "file", "line", "verdict", "reason"]


def read_review(path: Path) -> list[dict]:
    """Findings hassec once made on the corpus's checkouts, each read in its code
    and judged TP (the risk the rule names applies), FP (a look-alike) or UNSURE."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE) if row]
    if rows[0] != REVIEW_COLUMNS:
        sys.exit(f"{path}: header must be {' '.join(REVIEW_COLUMNS)}")
    reviewed = [dict(zip(REVIEW_COLUMNS, row)) for row in rows[1:]]
    for number, row in enumerate(reviewed, start=2):
        if row["verdict"] not in ("TP", "FP", "UNSURE"):
            sys.exit(f"{path}:{number}: verdict must be TP, FP or UNSURE")
    return reviewed


def score_review(reviewed: list[dict], findings_of: dict[tuple[str, str], list[dict]]) -> None:
    """How each reviewed finding is reported now: at warning or error level,
    only as a note, or not at all (same rule, file and starting line; HAS501
    and HAS502 one family, as in `hits`)."""
    table: collections.Counter = collections.Counter()
    by_rule: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for row in reviewed:
        findings = findings_of.get((row["repo"], row["commit"]))
        if findings is None:
            sys.exit(f"reviewed {row['repo']}@{row['commit'][:12]} is not a checkout of the cases")
        family = LOG_FAMILY if row["rule"] in LOG_FAMILY else {row["rule"]}
        levels = {
            f["level"]
            for f in findings
            if f["rule"] in family
            and f["path"].removeprefix("./") == row["file"]
            and f["start"]["line"] == int(row["line"])
        }
        now = "gone" if not levels else ("noted" if levels == {"note"} else "flagged")
        table[(row["verdict"], now)] += 1
        if now == "flagged":
            by_rule[row["rule"]][row["verdict"]] += 1
    print()
    print("| reviewed | flagged | as notes | gone |")
    print("|---|---:|---:|---:|")
    for verdict in ("TP", "FP", "UNSURE"):
        print(f"| {verdict} | {table[(verdict, 'flagged')]} | {table[(verdict, 'noted')]} | {table[(verdict, 'gone')]} |")
    true, false = table[("TP", "flagged")], table[("FP", "flagged")]
    share = true / (true + false) if true + false else 0.0
    print(f"true share of what is flagged (warnings and errors): {share:.0%}")
    print()
    print("| rule | flagged | true | false | unsure | true share |")
    print("|---|---:|---:|---:|---:|---:|")
    for rule in sorted(by_rule):
        verdicts = by_rule[rule]
        judged = verdicts["TP"] + verdicts["FP"]
        share = f"{verdicts['TP'] / judged:.0%}" if judged else "-"
        print(
            f"| {rule} | {sum(verdicts.values())} | {verdicts['TP']} | {verdicts['FP']} "
            f"| {verdicts['UNSURE']} | {share} |"
        )


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=Path, default=root / "tests/wild/cases.tsv")
    parser.add_argument("--mirrors", type=Path, help="directory of bare mirrors (OWNER+NAME/repo); default: clone")
    parser.add_argument("--hassec", default=str(root / "target/release/hassec"))
    parser.add_argument("--work", type=Path, default=root / ".bench/wild")
    parser.add_argument("--json", type=Path, help="also write every row's verdict here")
    parser.add_argument("--only", help="comma-separated case ids to score")
    parser.add_argument(
        "--check",
        action="store_true",
        help="only read and check the cases (and the review, with --review); scan nothing",
    )
    parser.add_argument(
        "--review",
        nargs="?",
        const=root / "tests/wild/review.tsv",
        type=Path,
        help="also score the reviewed findings (default tests/wild/review.tsv)",
    )
    args = parser.parse_args()

    args.hassec = str(Path(args.hassec).resolve())
    cases = read_cases(args.cases)
    if args.check:
        known = {(c["repo"], c["commit"]) for c in cases}
        reviewed = read_review(args.review) if args.review else []
        if strays := sorted({f"{r['repo']}@{r['commit'][:12]}" for r in reviewed} - {f"{r}@{c[:12]}" for r, c in known}):
            sys.exit(f"reviewed findings in checkouts no case names: {', '.join(strays)}")
        print(f"{len(cases)} cases, {len(reviewed)} reviewed findings: well formed")
        return 0
    if args.only:
        wanted = set(args.only.split(","))
        cases = [c for c in cases if c["id"] in wanted]
    checkouts = args.work / "checkouts"
    findings_of: dict[tuple[str, str], list[dict]] = {}
    for repo, commit in sorted({(c["repo"], c["commit"]) for c in cases}):
        checkout = checkouts / f"{repo.replace('/', '+')}@{commit[:12]}"
        materialise(git_dir(repo, args.mirrors, args.work / "clones"), commit, checkout)
        findings_of[(repo, commit)] = scan(args.hassec, checkout)

    verdicts = []
    for case in cases:
        matched = hits(case, findings_of[(case["repo"], case["commit"])])
        noted_only = bool(matched) and all(f["level"] == "note" for f in matched)
        flagged = bool(matched) and not (case["kind"] == "trap" and noted_only)
        verdicts.append({**case, "reported_by_hassec": flagged, "noted": noted_only, "findings": matched})

    by_family: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for v in verdicts:
        counts = by_family[v["family"]]
        counts[v["kind"]] += 1
        counts[v["kind"] + "-hit"] += v["reported_by_hassec"]
        counts[v["kind"] + "-noted"] += v["kind"] == "trap" and v["noted"]
    print("| family | leaks found | traps flagged | traps noted |")
    print("|---|---:|---:|---:|")
    total = collections.Counter()
    for family in sorted(by_family):
        c = by_family[family]
        total.update(c)
        print(f"| {family} | {c['leak-hit']}/{c['leak']} | {c['trap-hit']}/{c['trap']} | {c['trap-noted']} |")
    recall = total["leak-hit"] / total["leak"] if total["leak"] else 0.0
    flagged = total["trap-hit"] / total["trap"] if total["trap"] else 0.0
    print(
        f"| all | {total['leak-hit']}/{total['leak']} ({recall:.0%}) "
        f"| {total['trap-hit']}/{total['trap']} ({flagged:.0%}) | {total['trap-noted']} |"
    )
    print()
    print(f"repositories: {len({c['repo'] for c in cases})}, rows: {len(cases)}")
    for v in verdicts:
        if (v["kind"] == "leak") != v["reported_by_hassec"]:
            what = "missed leak" if v["kind"] == "leak" else "flagged trap"
            print(f"{what}: {v['id']} {v['family']} {v['repo']} {v['file']}:{v['lines'][0]} ({v['note']})")
    if args.review:
        score_review(read_review(args.review), findings_of)
    if args.json:
        args.json.write_text(json.dumps(verdicts, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
