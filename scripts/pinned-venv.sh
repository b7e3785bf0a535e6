#!/usr/bin/env bash
# Sourced by the scripts that need Python tools: `pinned_venv DIR PIN...` makes a
# virtualenv at DIR holding exactly these pins from PyPI, and reuses it while the
# pins do not change.

pinned_venv() { # dir pin...
  local venv=$1
  shift
  local stamp="$venv/.pins"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$*" ]; then
    echo "== installing $* in $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
    echo "$*" > "$stamp"
  fi
}

# The package version in Cargo.toml.
cargo_version() {
  python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["package"]["version"])' Cargo.toml
}
