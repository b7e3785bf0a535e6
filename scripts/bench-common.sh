# Shared by scripts/compare.sh and scripts/bench.sh (sourced, not run).
# Pins the tools, creates the virtualenv, fetches the corpus, builds hassec.
# Everything lands under .bench/ (gitignored).

RUFF_VERSION=0.17.5
BANDIT_VERSION=1.9.4
SEMGREP_VERSION=1.185.0
HA_VERSION=2025.4.4

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/.bench"
VENV="$BENCH/venv"
SEMGREP_RULES="$ROOT/scripts/semgrep-rules.yaml"

# Offline: no version check (it waits on the network for a minute and more), no metrics.
export SEMGREP_ENABLE_VERSION_CHECK=0 SEMGREP_SEND_METRICS=off

log() { printf '== %s\n' "$*" >&2; }

# bandit parses with the interpreter it runs on, and Home Assistant 2025.4 is Python
# 3.13 code (PEP 695 generics, `type` aliases): under an older Python bandit skips
# hundreds of files as syntax errors. So the venv uses python3.13 when there is one.
pick_python() {
  if [ -n "${PYTHON:-}" ]; then return; fi
  local pyenv_313=""
  if command -v pyenv >/dev/null 2>&1; then
    pyenv_313=$(ls -d "$(pyenv root)"/versions/3.13*/bin/python3.13 2>/dev/null | tail -1)
  fi
  for candidate in python3.13 $pyenv_313 python3.14 python3; do
    # (a pyenv shim exists for versions that are installed but not selected; run it)
    if "$candidate" -V >/dev/null 2>&1; then PYTHON=$candidate; break; fi
  done
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 13))'; then
    log "warning: $PYTHON is older than 3.13; bandit will skip files with newer syntax"
  fi
}

# python3 -m venv needs ensurepip; Debian ships it separately.
ensure_venv() {
  pick_python
  if [ -x "$VENV/bin/ruff" ] && [ -x "$VENV/bin/bandit" ] && [ -x "$VENV/bin/semgrep" ] &&
     "$VENV/bin/ruff" --version | grep -q "$RUFF_VERSION" &&
     "$VENV/bin/bandit" --version | grep -q "$BANDIT_VERSION" &&
     "$VENV/bin/semgrep" --version 2>/dev/null | grep -q "$SEMGREP_VERSION" &&
     [ "$("$VENV/bin/python" -V 2>&1)" = "$("$PYTHON" -V 2>&1)" ]; then
    return
  fi
  log "virtualenv with ruff $RUFF_VERSION, bandit $BANDIT_VERSION, semgrep $SEMGREP_VERSION"
  mkdir -p "$BENCH"
  rm -rf "$VENV"
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    "$PYTHON" -m venv "$VENV"
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check \
    "ruff==$RUFF_VERSION" "bandit==$BANDIT_VERSION" "semgrep==$SEMGREP_VERSION"
}

# GNU time gives wall, user, sys and peak RSS of one command.
ensure_gnu_time() {
  if [ ! -x /usr/bin/time ]; then
    log "installing GNU time"
    apt-get update -qq && apt-get install -y -qq time >/dev/null
  fi
}

# Home Assistant core as published (the wheel holds the integrations, no tests).
# CORPUS=<dir> reuses an extracted copy.
ensure_corpus() {
  if [ -n "${CORPUS:-}" ]; then
    [ -d "$CORPUS/homeassistant/components" ] || { echo "CORPUS=$CORPUS has no homeassistant/components" >&2; exit 2; }
    CORPUS=$(realpath "$CORPUS")
    return
  fi
  CORPUS="$BENCH/corpus/ha-$HA_VERSION"
  if [ -d "$CORPUS/homeassistant/components" ]; then return; fi
  log "downloading homeassistant==$HA_VERSION"
  mkdir -p "$BENCH/corpus"
  "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.13 -d "$BENCH/corpus" "homeassistant==$HA_VERSION"
  "$VENV/bin/python" -m zipfile -e "$BENCH/corpus/homeassistant-$HA_VERSION-py3-none-any.whl" "$CORPUS"
}

# HASSEC=<binary> uses a given build; otherwise a build of this checkout, release
# unless the profile is given ("dev" for a smoke run, which times nothing).
ensure_hassec() { # [profile]
  if [ -n "${HASSEC:-}" ]; then
    # The benchmarks change directory: a relative path is taken from here.
    case "$HASSEC" in */*) HASSEC=$(realpath "$HASSEC") ;; esac
    return
  fi
  local profile=${1:-release} dir=release
  [ "$profile" = dev ] && dir=debug
  log "cargo build --profile $profile"
  (cd "$ROOT" && cargo build --profile "$profile" --locked --quiet)
  HASSEC="${CARGO_TARGET_DIR:-$ROOT/target}/$dir/hassec"
  case "$HASSEC" in /*) ;; *) HASSEC="$ROOT/$HASSEC" ;; esac
}

# Everything a benchmark needs, and an empty output directory in $OUT.
prepare() { # out-dir smoke(0|1)
  ensure_venv
  ensure_gnu_time
  ensure_corpus
  if [ "$2" = 1 ]; then ensure_hassec dev; else ensure_hassec release; fi
  OUT=$1
  rm -rf "$OUT"
  mkdir -p "$OUT"
}

# The machine and its load, for a benchmark's summary.
describe_machine() {
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# Copies some of the corpus's integrations into a directory (a smoke run's target).
copy_integrations() { # dir domain...
  local dir=$1
  shift
  mkdir -p "$dir"
  for domain in "$@"; do cp -r "$CORPUS/homeassistant/components/$domain" "$dir/"; done
}

# The command line of each tool on one target, into the array CMD; each writes its
# JSON report to $3. Same scope for all: every .py file under the target.
# hassec: --no-cache, so that every run scans every file (as the others do).
# ruff: --ignore-noqa because hassec does not read `# noqa` (Home Assistant's code
# carries `# noqa: S608` and the like; compare.sh counts those separately).
tool_cmd() { # tool target out.json
  local tool=$1 target=$2 out=$3
  case "$tool" in
    hassec) CMD=("$HASSEC" scan --isolated --no-cache --format json -o "$out" "$target") ;;
    ruff) CMD=("$VENV/bin/ruff" check --no-cache --isolated --select S --ignore-noqa
               --output-format json --exit-zero -o "$out" "$target") ;;
    bandit) CMD=("$VENV/bin/bandit" -r -q -f json -o "$out" "$target") ;;
    semgrep) CMD=("$VENV/bin/semgrep" scan --config "$SEMGREP_RULES" --metrics=off
                  --disable-version-check --no-git-ignore --json -q -o "$out" "$target") ;;
    *) echo "unknown tool $tool" >&2; return 2 ;;
  esac
}

# Runs one tool under GNU time; appends "wall user sys maxrss_kb" to $4.
# The tools exit non-zero when they find something: that is not a failure here,
# but a missing report is.
timed_run() { # tool target out.json timings
  tool_cmd "$1" "$2" "$3"
  rm -f "$3"
  /usr/bin/time -f '%e %U %S %M' -a -o "$4" "${CMD[@]}" >/dev/null 2>"$3.stderr" || true
  if [ ! -s "$3" ]; then
    echo "$1 wrote no report for $2; its stderr:" >&2
    tail -20 "$3.stderr" >&2
    return 1
  fi
}
