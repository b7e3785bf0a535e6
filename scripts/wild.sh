#!/usr/bin/env bash
# Recall and traps flagged on the wild corpus (tests/wild/cases.tsv): real cases
# from public custom integrations, each repository materialised at its commit.
#
#   scripts/wild.sh                         # clones each repository (needs github.com)
#   MIRRORS=/path/to/mirrors scripts/wild.sh  # bare mirrors laid out as OWNER+NAME/repo
#   HASSEC=target/debug/hassec scripts/wild.sh --only a01,a02
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
HASSEC="${HASSEC:-$ROOT/target/release/hassec}"
if [ ! -x "$HASSEC" ]; then
  cargo build --release --manifest-path "$ROOT/Cargo.toml"
fi
args=(--hassec "$HASSEC")
if [ -n "${MIRRORS:-}" ]; then
  args+=(--mirrors "$MIRRORS")
fi
exec python3 "$ROOT/scripts/wild.py" "${args[@]}" "$@"
