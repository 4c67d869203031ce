#!/usr/bin/env bash
# The schemathesis contract test: a client nobody here wrote reads the served OpenAPI description
# and checks a running `envcredit serve` (demo data, loopback) against it: no 5xx, only documented
# status codes, content types, headers and body schemas, 405 with Allow for undocumented methods,
# and every request the description calls valid accepted (`positive_data_acceptance`; the two
# rules JSON Schema cannot state are taught by hooks.py, the one documented exception is in
# schemathesis.toml). Seeded, one worker and no example database, so the run is repeatable;
# bounded by examples per operation and by `timeout`.
#
# Usage: tests/contract/run.sh BINARY   (needs `pip install schemathesis==4.32.5`)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../wait_for_health.sh
. "${here}/../wait_for_health.sh"
binary="$(realpath "$1")"
dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
ENVCREDIT_DATABASE_URL="${dir}/envcredit.sqlite3" \
    ENVCREDIT_LISTEN="127.0.0.1:${port}" \
    ENVCREDIT_TODAY=2025-10-01 \
    ENVCREDIT_RATE_LIMIT__PER_MINUTE=1000000 \
    "${binary}" serve >"${dir}/serve.log" 2>&1 &
pid=$!
stop() {
    kill "${pid}" 2>/dev/null || true
    wait "${pid}" 2>/dev/null || true
    rm -rf "${dir}"
}
trap stop EXIT
base="http://127.0.0.1:${port}"
wait_for_health "${base}" "${pid}" "${dir}/serve.log"
curl -fsS "${base}/healthz"
echo
if ! (cd "${dir}" && CONTRACT_BASE_URL="${base}" SCHEMATHESIS_HOOKS="${here}/hooks.py" \
    timeout 240 python3 -m schemathesis.cli --config-file "${here}/schemathesis.toml" run \
    "${base}/api/v1/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,unsupported_method,allow_header_conformance,positive_data_acceptance \
    --seed 1 \
    --max-examples 100 \
    --workers 1 \
    --generation-database none \
    --request-timeout 10 \
    --no-color); then
    echo "--- envcredit serve log (last 50 lines)"
    tail -n 50 "${dir}/serve.log"
    echo "schemathesis reported failures (or ran out of time)" >&2
    exit 1
fi
