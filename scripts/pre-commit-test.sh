#!/usr/bin/env bash
# Tests the pre-commit hook of .pre-commit-hooks.yaml as a user meets it: a new git
# repository holding an insecure Home Assistant integration, whose pre-commit git
# hook runs `pre-commit try-repo` on this checkout (pre-commit pinned, from PyPI).
# The commit must be refused with the findings shown, and accepted once fixed.
#
# pre-commit installs the hook from this checkout with pip, which builds the wheel
# with maturin (pinned through pip's constraints). The Rust build shares this
# checkout's target directory (CARGO_TARGET_DIR): the dependencies are built once
# for the wheel, the image and this test alike.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/pinned-venv.sh
. scripts/pinned-venv.sh

PRE_COMMIT=pre-commit==4.7.0
MATURIN=maturin==1.16.0
root=$PWD
tools="${HASSEC_PRE_COMMIT_TOOLS:-target/pre-commit-tools}"
work="$root/target/pre-commit-test"
pinned_venv "$tools" "$PRE_COMMIT"
pre_commit="$root/$tools/bin/pre-commit"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
rm -rf "$work"
mkdir -p "$work/project"
echo "$MATURIN" > "$work/constraints.txt"
# The build dependency pinned: older pips read PIP_CONSTRAINT for builds too,
# newer ones PIP_BUILD_CONSTRAINT.
export PIP_CONSTRAINT="$work/constraints.txt" PIP_BUILD_CONSTRAINT="$work/constraints.txt"
export PRE_COMMIT_HOME="$work/home"

# try-repo takes this checkout as it is, uncommitted changes to tracked files included.
cat > "$work/run-hook" <<HOOK
#!/bin/sh
exec "$pre_commit" try-repo "$root" hassec
HOOK
chmod +x "$work/run-hook"

cd "$work/project"
git init --quiet --initial-branch=main
git config user.name "Integration author"
git config user.email "author@example.com"
git config commit.gpgsign false
cp "$work/run-hook" .git/hooks/pre-commit

integration=custom_components/porch_light
mkdir -p "$integration" tests
cat > "$integration/api.py" <<'PY'
"""Reads the porch light's state from its local API."""
import pickle

import requests


def read_state(host, blob):
    reply = requests.get(f"https://{host}/state", verify=False, timeout=10)
    reply.raise_for_status()
    return pickle.loads(blob)
PY
cat > "$integration/manifest.json" <<'JSON'
{
  "domain": "porch_light",
  "name": "Porch light",
  "version": "0.1.0",
  "iot_class": "local_polling",
  "requirements": ["porchlight-api>=2.0"]
}
JSON
# JSON that is not a manifest: the hook's `files` leaves it out.
echo '{"title": "Porch light"}' > "$integration/strings.json"
# A test: excluded by default, and the hook keeps it excluded though pre-commit names it.
printf 'import pickle\n\n\ndef test_round_trip():\n    assert pickle.loads(pickle.dumps(1)) == 1\n' > tests/test_api.py
git add --all

expect() { # description, then a command that must succeed
  local what=$1
  shift
  if ! "$@"; then
    echo "FAILED: $what" >&2
    exit 1
  fi
  echo "ok: $what"
}

echo "== commit of an insecure integration (pre-commit installs the hook: builds hassec)"
status=0
git commit --quiet -m "Add the porch light" > "$work/refused.log" 2>&1 || status=$?
cat "$work/refused.log"
expect "the commit is refused" test "$status" -ne 0
expect "no commit was made" test -z "$(git rev-list --all)"
for finding in \
  "$integration/api.py:8:51: HAS301" \
  "$integration/api.py:10:12: HAS703" \
  "$integration/manifest.json:6:20: HAS706"; do
  expect "the output shows $finding" grep -qF "$finding" "$work/refused.log"
done
expect "the hook failed" grep -qE '^hassec\.+Failed' "$work/refused.log"
expect "the excluded test file is not reported" \
  bash -c "! grep -q 'tests/test_api.py' '$work/refused.log'"
expect "strings.json is not passed to hassec" \
  bash -c "! grep -q 'strings.json' '$work/refused.log'"

echo "== the same commit once fixed"
cat > "$integration/api.py" <<'PY'
"""Reads the porch light's state from its local API."""
import json

import requests


def read_state(host, blob):
    reply = requests.get(f"https://{host}/state", timeout=10)
    reply.raise_for_status()
    return json.loads(blob)
PY
sed -i 's/porchlight-api>=2.0/porchlight-api==2.0.1/' "$integration/manifest.json"
git add --all
status=0
git commit --quiet -m "Add the porch light" > "$work/accepted.log" 2>&1 || status=$?
cat "$work/accepted.log"
expect "the fixed commit is accepted" test "$status" -eq 0
expect "the commit was made" test "$(git rev-list --all | wc -l)" -eq 1
expect "the hook passed" grep -qE '^hassec\.+Passed' "$work/accepted.log"
echo "== pre-commit hook: refused with the findings, accepted once fixed"
