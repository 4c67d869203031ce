# Sourced by the scripts that start `envcredit serve` for a client run (tests/contract/run.sh,
# clients/python/ci.sh): wait_for_health BASE_URL PID LOG waits up to 30 s for /healthz, and
# fails with the server's log if the server exits first.
wait_for_health() {
    local base="$1" pid="$2" log="$3"
    for _ in $(seq 1 60); do
        curl -fsS "${base}/healthz" >/dev/null 2>&1 && return 0
        if ! kill -0 "${pid}" 2>/dev/null; then
            cat "${log}"
            echo "envcredit serve exited before answering /healthz" >&2
            return 1
        fi
        sleep 0.5
    done
    echo "envcredit serve did not answer /healthz within 30 s" >&2
    return 1
}
