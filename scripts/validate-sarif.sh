#!/usr/bin/env bash
# Validates SARIF files with Microsoft's SARIF Multitool, with the SARIF spec rules
# and GitHub code scanning's ingestion rules (`--rule-kind "Sarif;Gh"`).
#
#   scripts/validate-sarif.sh FILE.sarif...
#
# Exits 0 when no file has an error, 1 when one has (the errors are printed),
# 2 when the validator cannot run. Warnings are printed and, with
# SARIF_STRICT=1, fail the run as well.
#
# The Multitool itself exits 0 whatever it finds (it reports results in its own
# SARIF log), so this script reads that log: a result's level is its own `level`,
# else its rule's default level, else `warning` (SARIF's default). A
# tool execution notification of level `error` (an unreadable input, say) is an
# error too.
#
# Where the Multitool is found, first hit wins:
#   $SARIF_MULTITOOL; node_modules/.bin/sarif-multitool, or the binary of the
#   npm package @microsoft/sarif-multitool-linux, under the repository or its
#   parent; `sarif-multitool` or `Sarif.Multitool` on PATH.
# Install: npm install @microsoft/sarif-multitool-linux@5.7.0, then
#   chmod u+x node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool
# (npm 11 skips the package's postinstall that would do it).
set -euo pipefail

usage() {
    echo "usage: $0 FILE.sarif..." >&2
    exit 2
}
[ "$#" -ge 1 ] || usage

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

find_multitool() {
    if [ -n "${SARIF_MULTITOOL:-}" ]; then
        echo "$SARIF_MULTITOOL"
        return
    fi
    local base candidate
    for base in "$repo" "$repo/.."; do
        for candidate in \
            "$base/node_modules/.bin/sarif-multitool" \
            "$base/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"; do
            if [ -e "$candidate" ]; then
                echo "$candidate"
                return
            fi
        done
    done
    command -v sarif-multitool || command -v Sarif.Multitool || true
}

multitool=$(find_multitool)
if [ -z "$multitool" ] || [ ! -e "$multitool" ]; then
    echo "validate-sarif: SARIF Multitool not found; set SARIF_MULTITOOL or run" >&2
    echo "  npm install @microsoft/sarif-multitool-linux@5.7.0" >&2
    exit 2
fi
if [ ! -x "$multitool" ]; then
    echo "validate-sarif: $multitool is not executable (npm skipped its postinstall): chmod u+x it" >&2
    exit 2
fi
command -v python3 >/dev/null || {
    echo "validate-sarif: python3 is needed to read the Multitool's log" >&2
    exit 2
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

status=0
for input in "$@"; do
    if [ ! -f "$input" ]; then
        echo "validate-sarif: $input: no such file" >&2
        status=1
        continue
    fi
    log="$work/$(basename "$input").validation.sarif"
    rm -f "$log"
    # The Multitool refuses to overwrite its log, hence a fresh path each time.
    set +e
    "$multitool" validate --rule-kind "Sarif;Gh" --level "Error;Warning;Note" \
        --output "$log" "$input" >"$work/console.txt" 2>&1
    code=$?
    set -e
    if [ "$code" -ne 0 ] || [ ! -s "$log" ]; then
        echo "validate-sarif: the Multitool failed on $input (exit code $code):" >&2
        cat "$work/console.txt" >&2
        exit 2
    fi
    set +e
    python3 - "$input" "$log" <<'PY'
import json
import os
import sys

source, log_path = sys.argv[1], sys.argv[2]
strict = os.environ.get("SARIF_STRICT") == "1"
with open(log_path, encoding="utf-8-sig") as handle:
    log = json.load(handle)

counts = {"error": 0, "warning": 0, "note": 0}
lines = []
for run in log.get("runs", []):
    rules = run.get("tool", {}).get("driver", {}).get("rules", [])
    for invocation in run.get("invocations", []):
        for notification in invocation.get("toolExecutionNotifications", []):
            if notification.get("level", "warning") == "error":
                counts["error"] += 1
                text = notification.get("message", {}).get("text", "")
                lines.append(f"{source}: error (validator): {text}")
    for result in run.get("results", []):
        level = result.get("level")
        index = result.get("ruleIndex")
        if level is None and isinstance(index, int) and 0 <= index < len(rules):
            level = rules[index].get("defaultConfiguration", {}).get("level")
        level = level or "warning"
        if level not in counts:
            continue
        counts[level] += 1
        if level == "note":
            continue
        message = result.get("message", {})
        text = message.get("text")
        if text is None and isinstance(index, int) and 0 <= index < len(rules):
            # Messages are templates in the rule's messageStrings.
            template = rules[index].get("messageStrings", {}).get(message.get("id"), {})
            text = template.get("text", "")
            for i, argument in enumerate(message.get("arguments", [])):
                text = text.replace("{%d}" % i, str(argument))
        where = ""
        for location in result.get("locations", []):
            region = location.get("physicalLocation", {}).get("region", {})
            if "startLine" in region:
                where = f"({region['startLine']},{region.get('startColumn', 1)})"
                break
        lines.append(f"{source}{where}: {level} {result.get('ruleId', '?')}: {text}")

for line in lines:
    print(line)
print(
    f"{source}: {counts['error']} errors, {counts['warning']} warnings, "
    f"{counts['note']} notes"
)
failed = counts["error"] > 0 or (strict and counts["warning"] > 0)
sys.exit(1 if failed else 0)
PY
    [ $? -eq 0 ] || status=1
    set -e
done
exit "$status"
