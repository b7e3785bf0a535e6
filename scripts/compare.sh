#!/usr/bin/env bash
# Side-by-side comparison of hassec with ruff (S rules), bandit and semgrep (our
# rules in scripts/semgrep-rules.yaml) on Home Assistant core and on examples/.
# Writes .bench/compare/<target>/{hassec,ruff,bandit,semgrep}.json, times.txt,
# report.md and samples.md; docs/comparison.md is written from these.
#
#   scripts/compare.sh                # downloads the corpus, builds hassec --release
#   CORPUS=/path/to/ha HASSEC=/path/to/hassec scripts/compare.sh
#   TOOLS=hassec scripts/compare.sh   # rerun only hassec, reuse the other reports
set -euo pipefail
source "$(dirname "$0")/bench-common.sh"

ensure_venv
ensure_gnu_time
ensure_corpus
ensure_hassec

OUT="$BENCH/compare"
mkdir -p "$OUT"
{
  echo "hassec $("$HASSEC" --version 2>/dev/null || echo '?') at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "ruff $("$VENV/bin/ruff" --version | cut -d' ' -f2), bandit $BANDIT_VERSION, semgrep $("$VENV/bin/semgrep" --version 2>/dev/null)"
  echo "python $("$VENV/bin/python" -V 2>&1 | cut -d' ' -f2), corpus homeassistant $HA_VERSION"
} >"$OUT/versions.txt"

compare_target() { # label dir
  local label=$1 dir=$2 out="$OUT/$1"
  mkdir -p "$out"
  for tool in ${TOOLS:-hassec ruff bandit semgrep}; do
    log "$tool on $label"
    local t="$out/$tool.time"
    : >"$t"
    timed_run "$tool" "$dir" "$out/$tool.json" "$t"
  done
  for tool in hassec ruff bandit semgrep; do
    if [ -f "$out/$tool.time" ]; then
      echo "$tool $(grep -E '^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$' "$out/$tool.time" | tail -1)"
    fi
  done >"$out/times.txt"
  # What ruff reports when the code's own `# noqa` comments are honoured.
  "$VENV/bin/ruff" check --no-cache --isolated --select S --output-format json --exit-zero \
    -o "$out/ruff-noqa-honoured.json" "$dir"
  "$VENV/bin/python" "$ROOT/scripts/compare.py" "$out" --root "$dir" --label "$label" \
    --rules "$ROOT/rules" --semgrep-rules "$SEMGREP_RULES" --samples "$out/samples.md" >"$out/report.md"
  log "wrote $out/report.md and $out/samples.md"
}

compare_target ha "$CORPUS"
if [ -d "$ROOT/examples" ]; then
  compare_target examples "$ROOT/examples"
else
  compare_target fixtures "$ROOT/tests/fixtures/rules"
fi
cat "$OUT/versions.txt" "$OUT"/*/report.md
