#!/usr/bin/env bash
# Tests the action's container image without Docker: builds the root filesystem
# of the Dockerfile's last stage from Debian's packages (debootstrap, the suite and
# packages that stage names), installs the release binary where that stage copies
# it, and runs the stage's ENTRYPOINT as the Actions runner runs a container action:
# as root, the workspace mounted at /github/workspace and the working directory,
# the event payload under /github/workflow, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY
# files under /github/file_commands, the inputs as INPUT_* with action.yml's
# defaults. The workspace is a pull request's merge commit owned by another user,
# as actions/checkout leaves it.
#
# The SARIF upload goes to a fake GitHub (scripts/fake-github.py) over TLS, with a
# certificate from a test CA made here: a first run, before the image trusts that
# CA, must fail to upload; a second, after update-ca-certificates added it to the
# image's trust store, must upload. Both runs happen in network, mount and PID
# namespaces of their own with only a loopback interface: the test talks to
# 127.0.0.1 and nothing else. Building the root filesystem needs the machine's
# Debian mirror (from its APT sources; HASSEC_DEBIAN_MIRROR overrides); the result
# is cached as a tarball under target/image-test/.
#
# Needs root (debootstrap, chroot, namespaces) and Linux.
set -euo pipefail
cd "$(dirname "$0")/.."

REPO=octo/garage
PR=7
TOKEN=ghs_FAKE0token0for0the0image0test
# The uid of the runner's user, who owns the checkout.
RUNNER_UID=1001
work="$PWD/target/image-test/run"

die() {
  echo "image test: $*" >&2
  exit 1
}

# ---------------------------------------------------------------------------
# What the image is: read from the Dockerfile's last stage.

# Prints, one per line: the Debian suite, the packages installed (space-separated),
# where the binary goes, and the ENTRYPOINT as a JSON array.
read_dockerfile() {
  python3 - Dockerfile <<'PY'
import json, re, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
stages = re.split(r"(?m)^FROM\s+", text)
last = stages[-1]
base = last.split()[0]
match = re.fullmatch(r"debian:([a-z]+)(-slim)?", base)
if not match:
    sys.exit(f"the last stage is FROM {base}, not debian:<suite>[-slim]")
for instruction in ("USER", "WORKDIR"):
    if re.search(rf"(?m)^{instruction}\s", last):
        sys.exit(f"the last stage sets {instruction}: the runner's mounts and this test assume root in the workspace")
packages = []
for run in re.findall(r"apt-get install ([^&\n]*)", last):
    packages += [word for word in run.split() if not word.startswith("-")]
copy = re.search(r"(?m)^COPY\s+--from=\S+\s+\S*/hassec\s+(\S+)\s*$", last)
entrypoint = re.search(r"(?m)^ENTRYPOINT\s+(\[.*\])\s*$", last)
if not packages or not copy or not entrypoint:
    sys.exit("cannot read the packages, the COPY of hassec or the ENTRYPOINT of the last stage")
print(match.group(1))
print(" ".join(packages))
print(copy.group(1))
print(json.dumps(json.loads(entrypoint.group(1))))
PY
}

# `INPUT_NAME=default` for every input of action.yml, as the runner passes them
# (upper case, hyphens kept); the token's default becomes the test token.
action_inputs() {
  python3 - action.yml "$TOKEN" <<'PY'
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
start = lines.index("inputs:")
name = None
for line in lines[start + 1:]:
    if line and not line.startswith(" "):
        break
    if m := re.fullmatch(r"  ([a-z][a-z-]*):", line):
        name = m.group(1)
    elif (m := re.fullmatch(r"    default: (.*)", line)) and name:
        value = m.group(1)
        if value.startswith('"'):
            value = json.loads(value)
        if "${{" in value:
            value = sys.argv[2] if name == "token" else sys.exit(f"input {name}: unknown expression {value}")
        print(f"INPUT_{name.upper()}={value}")
        name = None
PY
}

# The first Debian archive (not debian-security) of the machine's APT sources.
debian_mirror() {
  if [ -n "${HASSEC_DEBIAN_MIRROR:-}" ]; then
    echo "$HASSEC_DEBIAN_MIRROR"
    return
  fi
  local sources=() file
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] && sources+=("$file")
  done
  [ ${#sources[@]} -gt 0 ] || die "no APT sources in /etc/apt: set HASSEC_DEBIAN_MIRROR"
  awk '
    /^[[:space:]]*#/ { next }
    FILENAME ~ /\.sources$/ && $1 == "URIs:" { for (i = 2; i <= NF; i++) print $i; next }
    FILENAME !~ /\.sources$/ && $1 == "deb" {
      i = 2
      if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
      print $i
    }' "${sources[@]}" | grep -E '/debian/?$' | head -n 1 || true
}

# ---------------------------------------------------------------------------
# The root filesystem, cached.

# Prints the path of the tarball of `suite` with `packages`, building it if needed.
rootfs_tarball() { # suite packages
  local suite=$1 packages=$2
  local key
  key=$(printf 'minbase %s %s v1' "$suite" "$packages" | sha256sum | cut -c1-12)
  local tarball="$PWD/target/image-test/rootfs-$suite-$key.tar"
  if [ -f "$tarball" ]; then
    echo "$tarball"
    return
  fi
  if ! command -v debootstrap > /dev/null; then
    echo "== installing debootstrap" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; } >&2 \
      || die "debootstrap is missing and could not be installed (apt-get install debootstrap)"
  fi
  local mirror
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || die "no Debian archive in the APT sources: set HASSEC_DEBIAN_MIRROR"
  local build="$PWD/target/image-test/debootstrap"
  rm -rf "$build"
  mkdir -p "$build"
  echo "== debootstrap --variant=minbase --include=${packages// /,} $suite from $mirror" >&2
  debootstrap --variant=minbase --include="${packages// /,}" "$suite" "$build" "$mirror" \
    > "$PWD/target/image-test/debootstrap.log" 2>&1 \
    || { tail -n 30 "$PWD/target/image-test/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
  # As the Dockerfile leaves it: no package lists; no cached packages, and none of
  # the host's name resolution (the runner brings its own).
  chroot "$build" apt-get clean
  rm -rf "$build"/var/lib/apt/lists/* "$build/etc/resolv.conf"
  tar --numeric-owner -C "$build" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$build"
  echo "$tarball"
}

# ---------------------------------------------------------------------------
# A test CA and a certificate for 127.0.0.1 that it signs.

make_certificates() { # dir
  local dir=$1
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj "/CN=hassec image test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2> /dev/null
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=127.0.0.1" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2> /dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1" > "$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -sha256 -extfile "$dir/server.ext" -out "$dir/server.crt" 2> /dev/null
  openssl verify -CAfile "$dir/ca.crt" "$dir/server.crt" > /dev/null
}

# ---------------------------------------------------------------------------
# The workspace: a pull request's merge commit, checked out with fetch-depth: 2.

api_base='"""Garage door client."""
import pickle


def restore(blob):
    return pickle.loads(blob)
'
api_added='
import requests

DEFAULT_VERIFY_SSL = False


def open_door(door_id):
    return requests.post(f"https://api.garagecloud.io/v1/doors/{door_id}/open", verify=False, timeout=10)
'

make_workspace() { # dir runner-dir
  local ws=$1 runner=$2
  local g=(git -C "$ws" -c user.name=Dev -c user.email=dev@example.com -c commit.gpgsign=false)
  mkdir -p "$ws/custom_components/garage" "$runner/workflow" "$runner/file_commands" "$runner/home"
  git init --quiet --initial-branch=main "$ws"
  printf '%s' "$api_base" > "$ws/custom_components/garage/api.py"
  printf '{"domain": "garage", "name": "Garage", "version": "1.0.0", "requirements": ["garage-door==1.2.0"]}\n' \
    > "$ws/custom_components/garage/manifest.json"
  echo "# garage" > "$ws/README.md"
  "${g[@]}" add --all
  "${g[@]}" commit --quiet -m "base"
  "${g[@]}" checkout --quiet -b feature
  printf '%s' "$api_added" >> "$ws/custom_components/garage/api.py"
  "${g[@]}" commit --quiet -am "open the door"
  head=$("${g[@]}" rev-parse HEAD)
  "${g[@]}" checkout --quiet main
  echo "A garage door integration." >> "$ws/README.md"
  "${g[@]}" commit --quiet -am "base moves on"
  base=$("${g[@]}" rev-parse HEAD)
  "${g[@]}" checkout --quiet --detach main
  "${g[@]}" merge --quiet --no-ff -m "Merge $head into $base" feature
  merge=$("${g[@]}" rev-parse HEAD)
  chown -R "$RUNNER_UID:$RUNNER_UID" "$ws"
  cat > "$runner/workflow/event.json" <<JSON
{"action": "synchronize", "number": $PR,
 "pull_request": {"number": $PR,
   "base": {"sha": "$base", "ref": "main", "repo": {"full_name": "$REPO"}},
   "head": {"sha": "$head", "ref": "feature", "repo": {"full_name": "$REPO"}}},
 "repository": {"full_name": "$REPO", "default_branch": "main"}}
JSON
}

# ---------------------------------------------------------------------------
# Inside the namespaces: the fake GitHub, the mounts, the two runs.

inside() { # entrypoint...
  ip link set lo up
  local port_file="$work/github/port"
  python3 scripts/fake-github.py --cert "$work/certs/server.crt" --key "$work/certs/server.key" \
    --port-file "$port_file" --record "$work/github" --repo "$REPO" --token "$TOKEN" \
    --sha "$merge" --ref "refs/pull/$PR/merge" --checkout-uri file:///github/workspace \
    --deadline 120 &
  local tries=0
  until [ -f "$port_file" ]; do
    tries=$((tries + 1))
    [ "$tries" -le 100 ] || die "the fake GitHub did not start"
    sleep 0.1
  done
  local port
  port=$(cat "$port_file")

  local rootfs="$work/rootfs" runner="$work/runner"
  mount --bind "$work/workspace" "$rootfs/github/workspace"
  mount --bind "$runner/workflow" "$rootfs/github/workflow"
  mount --bind "$runner/file_commands" "$rootfs/github/file_commands"
  mount --bind "$runner/home" "$rootfs/github/home"
  mount -t proc proc "$rootfs/proc"

  local inputs=()
  mapfile -t inputs < <(action_inputs)
  run_action() { # name, more variables...
    local name=$1
    shift
    : > "$runner/file_commands/set_output_$name"
    : > "$runner/file_commands/step_summary_$name"
    local status=0
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/github/home \
      CI=true GITHUB_ACTIONS=true GITHUB_EVENT_NAME=pull_request \
      GITHUB_EVENT_PATH=/github/workflow/event.json GITHUB_WORKSPACE=/github/workspace \
      GITHUB_SHA="$merge" GITHUB_REF="refs/pull/$PR/merge" GITHUB_REPOSITORY="$REPO" \
      GITHUB_REPOSITORY_OWNER="${REPO%/*}" GITHUB_SERVER_URL=https://github.com \
      GITHUB_API_URL="https://127.0.0.1:$port" \
      GITHUB_OUTPUT="/github/file_commands/set_output_$name" \
      GITHUB_STEP_SUMMARY="/github/file_commands/step_summary_$name" \
      "${inputs[@]}" "$@" \
      unshare --root="$rootfs" --wd=/github/workspace -- "${entrypoint[@]}" \
      > "$work/$name.out" 2> "$work/$name.err" || status=$?
    echo "$status" > "$work/$name.status"
  }

  echo "== run 1: the image does not trust the test CA yet"
  # Quick retries: the upload must fail whatever the schedule.
  run_action untrusted HASSEC_BACKOFF_MS=10
  echo "== update-ca-certificates with the test CA"
  cp "$work/certs/ca.crt" "$rootfs/usr/local/share/ca-certificates/hassec-test-ca.crt"
  chroot "$rootfs" update-ca-certificates > "$work/update-ca-certificates.log" 2>&1 \
    || { cat "$work/update-ca-certificates.log"; die "update-ca-certificates failed"; }
  echo "== run 2: the image trusts it"
  run_action trusted
}

# ---------------------------------------------------------------------------
# Checks.

failures=0
check() { # description, then a command that must succeed
  local what=$1
  shift
  if "$@"; then
    echo "ok: $what"
  else
    echo "FAILED: $what" >&2
    failures=$((failures + 1))
  fi
}

output_of() { # run name
  sed -n "s/^$2=//p" "$work/runner/file_commands/set_output_$1"
}

# `level path:line` of each annotation of a run, in order.
annotations_of() { # run
  sed -n 's/^::\(error\|warning\|notice\) file=\([^,]*\),line=\([0-9]*\).*/\1 \2:\3/p' "$work/$1.out"
}

line_of() { # text in api.py
  grep -nF "$1" "$work/workspace/custom_components/garage/api.py" | cut -d: -f1
}

main() {
  [ "$(uname -s)" = Linux ] || die "needs Linux"
  [ "$(id -u)" -eq 0 ] || die "needs root: debootstrap, chroot and namespaces"
  local tool
  for tool in openssl python3 git ip unshare chroot tar; do
    command -v "$tool" > /dev/null || die "$tool is missing"
  done

  local stage suite packages dest entrypoint_json
  stage=$(read_dockerfile) || die "cannot read the Dockerfile's last stage"
  { read -r suite; read -r packages; read -r dest; read -r entrypoint_json; } <<< "$stage"
  mapfile -t entrypoint < <(python3 -c 'import json, sys; print("\n".join(json.loads(sys.argv[1])))' "$entrypoint_json")
  echo "== the Dockerfile's image: debian $suite, packages: $packages; $dest; ENTRYPOINT ${entrypoint[*]}"

  echo "== cargo build --release"
  cargo build --release --locked --bin hassec
  local binary="${CARGO_TARGET_DIR:-target}/release/hassec"

  local tarball
  tarball=$(rootfs_tarball "$suite" "$packages")
  echo "== root filesystem from $tarball"
  rm -rf "$work"
  mkdir -p "$work/rootfs" "$work/github"
  tar --numeric-owner -C "$work/rootfs" -xpf "$tarball"
  local rootfs="$work/rootfs"
  install -D -m 0755 "$binary" "$rootfs$dest"
  [ "$dest" = "${entrypoint[0]}" ] || die "the ENTRYPOINT ${entrypoint[0]} is not the binary's path $dest"
  mkdir -p "$rootfs/github/workspace" "$rootfs/github/workflow" "$rootfs/github/file_commands" \
    "$rootfs/github/home"

  make_certificates "$work/certs"
  make_workspace "$work/workspace" "$work/runner"

  export work merge REPO PR TOKEN
  unshare --mount --net --pid --fork --propagation private -- "$0" --inside "${entrypoint[@]}"

  local api=custom_components/garage/api.py
  local added_error added_warning unchanged
  added_error=$(line_of 'verify=False')
  added_warning=$(line_of 'DEFAULT_VERIFY_SSL = False')
  unchanged=$(line_of 'pickle.loads')

  echo "== run 1 (CA not trusted): $(cat "$work/untrusted.status")"
  cat "$work/untrusted.out" "$work/untrusted.err"
  check "run 1 exits with 1 (errors on added lines)" test "$(cat "$work/untrusted.status")" = 1
  check "run 1's upload fails" test "$(output_of untrusted upload-status)" = error
  check "run 1's TLS handshake was refused" grep -q '"TLS handshake failed' "$work/github/requests.jsonl"
  check "run 1 says why" grep -qi 'certificate' "$work/untrusted.out"

  echo "== run 2 (CA trusted): $(cat "$work/trusted.status")"
  cat "$work/trusted.out" "$work/trusted.err"
  check "run 2 exits with 1 (errors on added lines)" test "$(cat "$work/trusted.status")" = 1
  check "run 2 annotates the added lines, errors first" test \
    "$(annotations_of trusted | tr '\n' ';')" = "error $api:$added_error;warning $api:$added_warning;"
  check "output findings=2" test "$(output_of trusted findings)" = 2
  check "output total-findings=3" test "$(output_of trusted total-findings)" = 3
  check "output upload-status=complete" test "$(output_of trusted upload-status)" = complete
  check "output upload-id=upload-1" test "$(output_of trusted upload-id)" = upload-1
  check "output sarif-file=hassec.sarif" test "$(output_of trusted sarif-file)" = hassec.sarif
  check "the SARIF file is in the workspace" test -s "$work/workspace/hassec.sarif"
  check "the job summary names the pull request" \
    grep -qF "pull request #$PR" "$work/runner/file_commands/step_summary_trusted"
  check "the job summary links the finding at the head commit" \
    grep -qF "/$REPO/blob/$head/$api#L$added_error" \
    "$work/runner/file_commands/step_summary_trusted"
  check "the upload reached the fake GitHub over TLS and was accepted" \
    grep -qE '"method": "POST", "path": "/repos/'"$REPO"'/code-scanning/sarifs", "status": 202, "tls": "TLSv1\.[23]"' \
    "$work/github/requests.jsonl"
  check "its processing status was asked over TLS" \
    grep -qE '"method": "GET", "path": "/repos/'"$REPO"'/code-scanning/sarifs/upload-1", "status": 200, "tls": "TLSv1\.[23]"' \
    "$work/github/requests.jsonl"
  check "the fake GitHub saw no other request and no problem" test \
    "$(grep -vc '"TLS handshake failed' "$work/github/requests.jsonl")" = 2
  check "the uploaded SARIF has every finding of the changed file" test \
    "$(python3 -c '
import json, sys
log = json.load(open(sys.argv[1]))
print(";".join(sorted("{}:{}".format(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                                     r["locations"][0]["physicalLocation"]["region"]["startLine"])
                      for r in log["runs"][0]["results"])))' "$work/github/uploads/upload-1.sarif")" \
    = "$(printf '%s\n' "$api:$added_error" "$api:$added_warning" "$api:$unchanged" | sort | paste -sd';')"
  check "the token was never printed" \
    bash -c "! grep -rqF '$TOKEN' '$work'/*.out '$work'/*.err '$work/runner/file_commands' '$work/github'"

  if [ "$failures" -ne 0 ]; then
    die "$failures checks failed"
  fi
  echo "== container image end to end: all checks passed"
}

if [ "${1:-}" = --inside ]; then
  shift
  entrypoint=("$@")
  inside
else
  main
fi
