#!/usr/bin/env bash
# What an integrator does with the API, run in CI (.ci/run): generate a typed Python client from
# the committed OpenAPI description with openapi-python-client (any generator warning fails),
# type-check the three user scripts with `mypy --strict`, then run them against a demo server
# started here with a partner key.
#
#   bash clients/python/ci.sh ENVCREDIT_BINARY
#
# Installs the pinned tools (requirements.txt) into a throwaway virtual environment, so nothing
# is cached outside the clone and nothing clashes with other Python tools of the CI run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
# shellcheck source=../../tests/wait_for_health.sh
. "${repo}/tests/wait_for_health.sh"
binary="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "${server_pid}" ]; then
        kill "${server_pid}" 2>/dev/null || true
        wait "${server_pid}" 2>/dev/null || true
    fi
    rm -rf "${work}"
}
trap cleanup EXIT

elapsed() { echo "   ($(( $(date +%s) - $1 )) s)"; }

echo "-- pip install -r clients/python/requirements.txt (virtual environment)"
t=$(date +%s)
python3 -m venv "${work}/venv"
"${work}/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "${here}/requirements.txt"
elapsed "$t"

echo "-- openapi-python-client generate (warnings fail)"
t=$(date +%s)
(cd "${work}" && PATH="${work}/venv/bin:${PATH}" "${work}/venv/bin/openapi-python-client" generate \
    --path "${repo}/openapi/openapi.json" --meta none --config "${here}/generator.yaml" \
    --output-path "${work}/client/envcredit_client") >"${work}/generate.log" 2>&1 || {
    cat "${work}/generate.log"
    echo "openapi-python-client failed" >&2
    exit 1
}
cat "${work}/generate.log"
# The generator says "Warning(s) encountered" and still exits 0 when it leaves parts out.
if grep -qi "warning" "${work}/generate.log"; then
    echo "openapi-python-client warned: the description leaves something out (above)" >&2
    exit 1
fi
elapsed "$t"

# mypy reads the generated package as source (MYPYPATH: it has no py.typed marker), Python
# imports it from the same directory.
export MYPYPATH="${work}/client:${here}"
export PYTHONPATH="${work}/client:${here}"

echo "-- mypy --strict on the user scripts, with the generated client"
t=$(date +%s)
(cd "${here}" && "${work}/venv/bin/mypy" --config-file mypy.ini \
    public.py procurement.py partner.py common.py)
elapsed "$t"

echo "-- the user scripts against envcredit serve (demo data, a partner key)"
t=$(date +%s)
# A partner key of 256 bits, made for this run only; partner keys come from the configuration
# file only, and a configuration file turns demo mode off unless it says otherwise.
partner_key="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"${work}/envcredit.toml" <<TOML
demo = true
listen = "127.0.0.1:${port}"
database_url = "${work}/envcredit.sqlite3"
today = "2025-10-01"

[[rate_limit.partner_keys]]
name = "ci-partner"
key = "${partner_key}"
per_minute = 60000
burst = 5000
TOML
"${binary}" --config "${work}/envcredit.toml" serve >"${work}/serve.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:${port}"
wait_for_health "${base}" "${server_pid}" "${work}/serve.log"
status=0
for script in public procurement partner; do
    ENVCREDIT_PARTNER_KEY="${partner_key}" "${work}/venv/bin/python" "${here}/${script}.py" "${base}" \
        || status=1
done
if [ "${status}" -ne 0 ]; then
    echo "--- envcredit serve log (last 30 lines)"
    tail -n 30 "${work}/serve.log"
    exit 1
fi
elapsed "$t"
