#!/usr/bin/env bash
# Fuzzes every target for SECONDS each (default 60), one after the other, one process at a time.
#
#   fuzz/run.sh [SECONDS]
#
# Installs cargo-fuzz (pinned) when it is missing, builds all targets once (with the stable
# toolchain: RUSTC_BOOTSTRAP=1 lets it take cargo-fuzz's nightly flags), seeds each working
# corpus fuzz/corpus/<target>/ from the committed fuzz/seeds/<target>/, runs each target, and
# exits non-zero when any target found a crash (kept under fuzz/artifacts/<target>/; see
# fuzz/README.md for turning one into a regression test). Everything it makes stays in fuzz/
# (target/, corpus/, artifacts/, all gitignored); only `cargo install` writes outside the
# checkout.
set -euo pipefail

CARGO_FUZZ_VERSION=0.13.2
seconds="${1:-60}"
if ! [[ "${seconds}" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: fuzz/run.sh [SECONDS]   (SECONDS per target, a positive integer; default 60)" >&2
    exit 2
fi

cd "$(dirname "$0")"
fuzz_dir="$(pwd)"
# Build products stay in fuzz/target whatever the caller's environment says.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR
# cargo-fuzz passes -Zsanitizer and other nightly-only flags; the stable compiler takes them
# with this set.
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Target, and the largest input it is given (bytes): the committed seeds are all well below.
targets=(
    "bundle_verify 8192"
    "bundle_records 16384"
    "proof_verify 8192"
    "code_check 256"
)

echo "== cargo-fuzz ${CARGO_FUZZ_VERSION}"
rustc --version
if [ "$(cargo fuzz --version 2>/dev/null || true)" != "cargo-fuzz ${CARGO_FUZZ_VERSION}" ]; then
    cargo install cargo-fuzz --version "${CARGO_FUZZ_VERSION}" --locked
fi
cargo fuzz --version

echo "== build every target (once)"
cargo fuzz build

failed=()
summary=()
mkdir -p artifacts/logs
for entry in "${targets[@]}"; do
    read -r target max_len <<<"${entry}"
    corpus="corpus/${target}"
    mkdir -p "${corpus}" "artifacts/${target}"
    cp -n "seeds/${target}/"* "${corpus}/" 2>/dev/null || true
    log="artifacts/logs/${target}.log"
    echo "== ${target}: ${seconds} s (corpus ${corpus}, $(find "${corpus}" -type f | wc -l) inputs, -max_len=${max_len})"
    status=0
    # The same build options as above, so this builds nothing.
    cargo fuzz run "${target}" "${corpus}" -- \
        -max_total_time="${seconds}" \
        -max_len="${max_len}" \
        -rss_limit_mb=2048 \
        -timeout=20 \
        -print_final_stats=1 \
        >"${log}" 2>&1 || status=$?
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "${log}" | tail -n 1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "${log}" | tail -n 1)"
    cov="$(grep -oE 'cov: [0-9]+' "${log}" | tail -n 1 || true)"
    if [ "${status}" -ne 0 ]; then
        echo "--- ${target} FAILED (exit ${status}); full log: fuzz/${log}"
        found="$(grep -E -A3 'panicked at|ERROR: (AddressSanitizer|libFuzzer)' "${log}" | head -n 24 || true)"
        if [ -n "${found}" ]; then
            echo "${found}"
            grep -E 'Test unit written to|^SUMMARY' "${log}" || true
        else
            tail -n 40 "${log}"
        fi
        failed+=("${target}")
        summary+=("${target}: FAILED, ${execs:-?} executions; artifacts in fuzz/artifacts/${target}/")
    else
        summary+=("${target}: ok, ${execs:-?} executions (${rate:-?}/s), ${cov:-cov: ?}, corpus $(find "${corpus}" -type f | wc -l) inputs")
    fi
    echo "${summary[-1]}"
done

echo "== summary (${seconds} s per target)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "fuzzing found crashes in: ${failed[*]} (reproduce: fuzz/README.md)" >&2
    exit 1
fi
