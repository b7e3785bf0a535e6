#!/usr/bin/env bash
# Times hassec against ruff (S rules), bandit and semgrep on Home Assistant core.
# On a fresh machine: creates .bench/venv with the pinned tools, downloads the
# homeassistant wheel, builds hassec --release, then runs the tools alternately
# (hassec, ruff, bandit, semgrep, hassec, ...) and prints a Markdown table of medians:
# wall time, CPU time (user+sys) and peak RSS, from GNU time.
#
#   scripts/bench.sh                      # 5 runs of each tool
#   RUNS=5 SLOW_RUNS=3 scripts/bench.sh   # fewer runs of bandit and semgrep
#   scripts/bench.sh --smoke              # every tool once on a tiny subset, debug build
#                                         # of hassec (for CI: checks that every tool runs
#                                         # and writes a report; no timing is judged)
#   CORPUS=/path/to/ha HASSEC=/path/to/hassec scripts/bench.sh
set -euo pipefail
source "$(dirname "$0")/bench-common.sh"

SMOKE=0
for arg in "$@"; do
  case "$arg" in
    --smoke) SMOKE=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done
RUNS=${RUNS:-5}
SLOW_RUNS=${SLOW_RUNS:-$RUNS}

prepare "$BENCH/bench" "$SMOKE"
TARGET=$CORPUS
if [ "$SMOKE" = 1 ]; then
  # A few integrations with shell, network and auth code, plus our example.
  RUNS=1 SLOW_RUNS=1
  TARGET="$OUT/smoke"
  copy_integrations "$TARGET" command_line shell_command rest
  [ -d "$ROOT/examples" ] && cp -r "$ROOT/examples" "$TARGET/examples"
fi

runs_of() { case "$1" in bandit|semgrep) echo "$SLOW_RUNS" ;; *) echo "$RUNS" ;; esac; }

# The first read of the corpus fills the page cache; keep it out of the numbers.
log "warm-up"
timed_run hassec "$TARGET" "$OUT/warmup.json" /dev/null
timed_run ruff "$TARGET" "$OUT/warmup.json" /dev/null

for ((i = 1; i <= RUNS || i <= SLOW_RUNS; i++)); do
  for tool in hassec ruff bandit semgrep; do
    if ((i > $(runs_of "$tool"))); then continue; fi
    log "run $i: $tool"
    timed_run "$tool" "$TARGET" "$OUT/$tool.json" "$OUT/$tool.time"
  done
done

{
  echo "hassec: $HASSEC ($("$HASSEC" --version 2>/dev/null), checkout $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')); ruff $RUFF_VERSION, bandit $BANDIT_VERSION, semgrep $SEMGREP_VERSION, python $("$VENV/bin/python" -V 2>&1 | cut -d' ' -f2)"
  echo "target: $( [ "$SMOKE" = 1 ] && echo "smoke subset" || echo "homeassistant $HA_VERSION") ($(find "$TARGET" -name '*.py' | wc -l) .py files)"
  describe_machine
  echo
} >"$OUT/summary.md"

"$VENV/bin/python" - "$OUT" >>"$OUT/summary.md" <<'PY'
import json, re, statistics, sys
from pathlib import Path

out = Path(sys.argv[1])
tools = ["hassec", "ruff", "bandit", "semgrep"]
rows = {}
for tool in tools:
    runs = [tuple(map(float, line.split()))
            for line in (out / f"{tool}.time").read_text().splitlines()
            if re.fullmatch(r"[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+", line)]
    if not runs:
        sys.exit(f"{tool}: no timed run")
    report = json.loads((out / f"{tool}.json").read_text())
    findings = len(report["results"] if isinstance(report, dict) else report)
    wall = [r[0] for r in runs]
    rows[tool] = {
        "runs": len(runs),
        "wall": statistics.median(wall), "min": min(wall), "max": max(wall),
        "cpu": statistics.median(r[1] + r[2] for r in runs),
        "rss": statistics.median(r[3] for r in runs) / 1024,
        "findings": findings,
    }

print("| tool | runs | wall s, median (min-max) | CPU user+sys s, median | peak RSS MiB, median | findings |")
print("|---|---:|---:|---:|---:|---:|")
for tool, r in rows.items():
    print(f"| {tool} | {r['runs']} | {r['wall']:.2f} ({r['min']:.2f}-{r['max']:.2f}) | {r['cpu']:.2f} | {r['rss']:.0f} | {r['findings']} |")
print()
print("| ratio | wall | CPU | peak RSS |")
print("|---|---:|---:|---:|")
for a, b in (("hassec", "ruff"), ("bandit", "hassec"), ("semgrep", "hassec")):
    x, y = rows[a], rows[b]
    ratio = lambda k: f"{x[k] / y[k]:.2f}" if y[k] else "-"
    print(f"| {a}/{b} | {ratio('wall')} | {ratio('cpu')} | {ratio('rss')} |")
print()
# The targets of the issue "Matching cheaper than parsing", on wall time.
print("| target | measured | met |")
print("|---|---:|:-:|")
for label, a, b, met in (
    ("hassec <= 5x ruff --select S", "hassec", "ruff", lambda v: v <= 5),
    ("hassec >= 20x faster than bandit", "bandit", "hassec", lambda v: v >= 20),
    ("hassec >= 20x faster than semgrep", "semgrep", "hassec", lambda v: v >= 20),
):
    # GNU time's 10 ms steps can round a tiny (--smoke) run down to 0.
    if rows[b]["wall"] == 0:
        print(f"| {label} | - | - |")
        continue
    value = rows[a]["wall"] / rows[b]["wall"]
    print(f"| {label} | {value:.2f} | {'yes' if met(value) else 'no'} |")
PY
cat "$OUT/summary.md"
