#!/usr/bin/env bash
# Compares the JSON reports of two hassec builds, byte for byte, on the example
# integration and the test fixtures (or on the paths given): a change meant to
# make scanning faster must not change what is found.
#
#   scripts/same-findings.sh REFERENCE NEW [PATH...]
#   scripts/same-findings.sh .bench/hassec-main target/release/hassec
#   scripts/same-findings.sh ref/hassec target/release/hassec ~/ha-core
#
# REFERENCE and NEW are hassec executables (build the reference from the commit
# to compare with, e.g. in a second worktree). Each PATH is scanned from inside
# it (`.`), with no configuration file and no cache. Exits 1 and shows the first
# lines of the difference when a report differs. CI runs the fixture and example
# comparison as a Rust test instead (`the_call_index_finds_what_every_pattern_everywhere_finds`).
set -euo pipefail

case "${1:-}" in -h | --help | "")
  sed -n '2,14p' "$0"
  exit 2
  ;;
esac
[ $# -ge 2 ] || {
  echo "usage: $0 REFERENCE NEW [PATH...]" >&2
  exit 2
}
REFERENCE=$(realpath "$1")
NEW=$(realpath "$2")
shift 2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || set -- "$ROOT/examples" "$ROOT/tests/fixtures"

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
status=0
for path in "$@"; do
  name=$(basename "$path")
  for build in reference new; do
    exe=$REFERENCE
    [ "$build" = new ] && exe=$NEW
    # hassec exits 1 when it finds something.
    (cd "$path" && "$exe" scan --isolated --no-cache --format json --fail-on never \
      -o "$OUT/$name.$build.json" .) || {
      echo "$build failed on $path" >&2
      exit 2
    }
  done
  if cmp -s "$OUT/$name.reference.json" "$OUT/$name.new.json"; then
    count=$(grep -c '"rule": ' "$OUT/$name.new.json" || true)
    echo "same: $path ($(wc -c <"$OUT/$name.new.json") bytes, $count findings)"
  else
    echo "DIFFERENT: $path" >&2
    diff "$OUT/$name.reference.json" "$OUT/$name.new.json" | head -40 >&2 || true
    status=1
  fi
done
exit $status
