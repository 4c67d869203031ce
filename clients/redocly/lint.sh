#!/usr/bin/env bash
# Redocly's recommended rules on the committed OpenAPI description (.ci/run). `redocly lint`
# exits non-zero only for errors; a warning of the recommended rules fails here too, so that
# "clean" means what an integrator running the same lint would see: nothing.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
output="$(npx --no-install redocly lint ../../openapi/openapi.json 2>&1)" && status=0 || status=$?
printf '%s\n' "${output}"
if [ "${status}" -ne 0 ] || grep -q "Warning was generated" <<<"${output}"; then
    echo "Redocly lint: errors or warnings (above)" >&2
    exit 1
fi
