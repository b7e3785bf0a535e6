#!/usr/bin/env bash
# Builds the Python wheel as the release does (maturin, pinned, from PyPI), installs
# it into a new virtualenv that has nothing else, and runs the installed `hassec`
# as a user would: `hassec --version` must be Cargo.toml's version, and
# `hassec scan examples/` must exit with 1 and report exactly the findings pinned
# by tests/example.rs's snapshot.
#
# The wheel lands in target/wheels/. The Rust build goes to the usual target
# directory (or CARGO_TARGET_DIR), so a later `cargo build --release` reuses it.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/pinned-venv.sh
. scripts/pinned-venv.sh

MATURIN=maturin==1.16.0
tools="${HASSEC_WHEEL_TOOLS:-target/wheel-tools}"
work=target/wheel-test
pinned_venv "$tools" "$MATURIN"

version=$(cargo_version)
rm -rf target/wheels "$work"
mkdir -p "$work"

echo "== maturin build --release (hassec $version)"
"$tools/bin/maturin" build --release --locked --out target/wheels
wheels=(target/wheels/hassec-"$version"-*.whl)
if [ ${#wheels[@]} -ne 1 ] || [ ! -f "${wheels[0]}" ]; then
  echo "expected one wheel of hassec $version in target/wheels, found: $(ls target/wheels)" >&2
  exit 1
fi
wheel=${wheels[0]}
echo "built $wheel ($(du -h "$wheel" | cut -f1))"

echo "== maturin sdist"
# What pip builds from where no wheel fits: it must hold everything the build needs.
"$tools/bin/maturin" sdist --out "$work/sdist" > "$work/sdist.log" 2>&1 || { cat "$work/sdist.log"; exit 1; }
sdist="$work/sdist/hassec-$version.tar.gz"
tar -tzf "$sdist" > "$work/sdist.txt"
for file in pyproject.toml Cargo.toml Cargo.lock build.rs src/main.rs rules/secrets.toml PKG-INFO; do
  grep -qx "hassec-$version/$file" "$work/sdist.txt" || { echo "the sdist has no $file" >&2; exit 1; }
done
echo "$sdist: $(wc -l < "$work/sdist.txt") files"

echo "== install into a new virtualenv"
python3 -m venv "$work/venv"
# The wheel has no dependencies: nothing is fetched.
"$work/venv/bin/pip" install --quiet --no-index --disable-pip-version-check "$wheel"
hassec="$work/venv/bin/hassec"
[ -x "$hassec" ] || { echo "the wheel installed no hassec in $work/venv/bin" >&2; exit 1; }

echo "== hassec --version"
said=$("$hassec" --version)
echo "$said"
if [ "$said" != "hassec $version" ]; then
  echo "hassec --version says '$said', Cargo.toml has $version" >&2
  exit 1
fi

echo "== hassec scan examples/"
# A cache of its own, so that the scan runs for real and leaves the checkout alone.
status=0
HASSEC_CACHE_DIR="$work/cache" "$hassec" scan examples/ > "$work/scan.txt" 2> "$work/scan.err" || status=$?
cat "$work/scan.txt" "$work/scan.err"
if [ "$status" -ne 1 ]; then
  echo "hassec scan examples/ exited with $status, expected 1 (findings)" >&2
  exit 1
fi
# `path:line:col: RULE`, as the snapshot pins them and as the text report prints them.
sed -n 's/^\(examples\/[^ ]*: HAS[0-9]*\) \[.*/\1/p' \
  tests/snapshots/example__the_example_integration_findings.snap | sort > "$work/expected.txt"
sed -n 's/^\(examples\/[^ ]*: HAS[0-9]*\) .*/\1/p' "$work/scan.txt" | sort > "$work/found.txt"
if [ ! -s "$work/expected.txt" ]; then
  echo "no findings read from the snapshot: has its format changed?" >&2
  exit 1
fi
if ! diff -u "$work/expected.txt" "$work/found.txt"; then
  echo "the installed hassec does not report the snapshot's findings (- expected, + found)" >&2
  exit 1
fi
echo "== wheel: $(wc -l < "$work/found.txt") findings as expected, version $version"
