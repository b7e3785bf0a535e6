#!/usr/bin/env bash
# Fuzzes hassec for a fixed time: arbitrary bytes through parse, match, refine and
# every reporter (fuzz/fuzz_targets/scan.rs), seeded from the rule fixtures, the
# example integration and the saved regressions.
#
#   scripts/fuzz.sh [SECONDS]      (default 60)
#
# A crash is written to fuzz/artifacts/scan/; minimise it, fix the bug, and keep
# the input in fuzz/regressions/ (tests/hostile.rs replays every file there).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2

corpus=fuzz/corpus/scan
mkdir -p "$corpus"
cp tests/fixtures/rules/*.py "$corpus"/
find examples -name '*.py' -exec cp {} "$corpus"/ \;
cp fuzz/regressions/* "$corpus"/ 2>/dev/null || true

# cargo-fuzz passes sanitizer flags that only nightly accepts; RUSTC_BOOTSTRAP lets
# the stable toolchain take them.
RUSTC_BOOTSTRAP=1 cargo fuzz run scan "$corpus" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=65536
