#!/usr/bin/env bash
# Kairos developer entry point.
#
#   ./kairos.sh run [--headless] [ARGS...]   install what is missing, build, start local mode
#   ./kairos.sh test [CTEST ARGS...]         install, build, run every test suite through ctest,
#                                            then both fuzz targets for 60 s each
#   ./kairos.sh bench [BENCH ARGS...]        install, build, run kairos-bench (JSON lines)
#   ./kairos.sh fuzz [SECONDS]               build the libFuzzer targets with clang and run them
#   ./kairos.sh build                        install and build only
#
# Packages come from Debian 12. As root they are installed with apt-get; otherwise the exact
# apt-get command is printed and the script stops.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${KAIROS_BUILD_DIR:-$ROOT/build}
JOBS=${KAIROS_JOBS:-2}
# ccache keys objects by paths relative to the checkout, so a fresh clone (CI) reuses what an
# earlier build of the same sources on this machine compiled.
export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=true

PACKAGES=(
    cmake ninja-build g++ ccache pkg-config
    qt6-base-dev libqt6sql6-sqlite libqt6sql6-psql qt6-charts-dev qt6-svg-dev
    qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools libgl-dev
    postgresql openssl xvfb xauth
)
FUZZ_PACKAGES=(clang libclang-rt-14-dev)

log() { printf '\033[1mkairos.sh:\033[0m %s\n' "$*" >&2; }

missing_packages() {
    local missing=()
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    echo "${missing[@]:-}"
}

ensure_packages() {
    local missing
    missing=$(missing_packages "$@")
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -eq 0 ]; then
        log "installing: $missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $missing >/dev/null
    else
        log "missing Debian packages: $missing"
        echo "Run this, then try again:" >&2
        echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends $missing" >&2
        exit 1
    fi
}

configure_and_build() {
    ensure_packages "${PACKAGES[@]}"
    if [ ! -f "$BUILD/build.ninja" ]; then
        log "configuring $BUILD"
        cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    fi
    log "building (-j$JOBS)"
    cmake --build "$BUILD" -j "$JOBS"
}

data_dir() {
    echo "${KAIROS_DATA:-${XDG_DATA_HOME:-$HOME/.local/share}/kairos}"
}

cmd_run() {
    local headless=0 args=()
    for a in "$@"; do
        if [ "$a" = "--headless" ]; then headless=1; else args+=("$a"); fi
    done
    configure_and_build
    local data
    data=$(data_dir)
    mkdir -p "$data"
    if [ "$headless" -eq 1 ]; then
        log "starting kairosd (data: $data, admin password in $data/admin.password)"
        exec "$BUILD/bin/kairosd" --listen 127.0.0.1:7070 --data "$data" "${args[@]}"
    fi
    log "starting the console in local mode (data: $data)"
    exec "$BUILD/bin/kairos" --data "$data" "${args[@]}"
}

cmd_test() {
    configure_and_build
    log "running ctest"
    (cd "$BUILD" && ctest --output-on-failure --timeout 600 -j "$JOBS" "$@")
    # The fuzz targets run clean for 60 s each, in parallel, as part of every test run.
    cmd_fuzz 60
}

cmd_bench() {
    configure_and_build
    exec "$BUILD/bin/kairos-bench" "$@"
}

# Builds the libFuzzer targets in build-fuzz (clang) and runs them all at once for SECONDS
# (default 60), each in its own working corpus under build-fuzz/corpus (libFuzzer adds inputs
# there; the committed seeds in fuzz/corpus stay as they are) with its dictionary. Fails when a
# target does not build, or finds a crash, a leak or a hang (-timeout).
cmd_fuzz() {
    local seconds=${1:-60}
    case "$seconds" in
    '' | *[!0-9]*)
        log "fuzz: SECONDS must be a whole number, got \"$seconds\""
        exit 2
        ;;
    esac
    # target:name of its seed folder fuzz/corpus/NAME and dictionary fuzz/NAME.dict
    local fuzzers=(fuzz_frame_decoder:frame fuzz_worker_messages:worker)
    ensure_packages "${PACKAGES[@]}" "${FUZZ_PACKAGES[@]}"
    local fb="$ROOT/build-fuzz"
    if [ ! -f "$fb/build.ninja" ]; then
        log "configuring $fb (clang, libFuzzer)"
        cmake -S "$ROOT" -B "$fb" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DCMAKE_CXX_COMPILER=clang++ -DKAIROS_BUILD_FUZZ=ON -DKAIROS_BUILD_UI=OFF >/dev/null
    fi
    local targets=() entry
    for entry in "${fuzzers[@]}"; do targets+=("${entry%%:*}"); done
    log "building ${targets[*]}"
    cmake --build "$fb" -j "$JOBS" --target "${targets[@]}"

    local pids=() names=() name seeds corpus
    for entry in "${fuzzers[@]}"; do
        name=${entry%%:*}
        seeds=${entry##*:}
        corpus="$fb/corpus/$seeds"
        mkdir -p "$corpus" "$fb/artifacts"
        cp -n "$ROOT/fuzz/corpus/$seeds"/* "$corpus/" 2>/dev/null || true
        log "fuzzing $name for ${seconds}s (log: $fb/$name.log)"
        "$fb/bin/$name" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
            -dict="$ROOT/fuzz/$seeds.dict" -artifact_prefix="$fb/artifacts/$name-" \
            "$corpus" >"$fb/$name.log" 2>&1 &
        pids+=($!)
        names+=("$name")
    done
    local failed=0 i runs
    for i in "${!pids[@]}"; do
        name=${names[$i]}
        if wait "${pids[$i]}"; then
            runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$fb/$name.log")
            log "$name: clean, ${runs:-?} inputs in ${seconds}s"
        else
            failed=1
            log "$name FAILED; the end of $fb/$name.log:"
            tail -n 40 "$fb/$name.log" >&2
        fi
    done
    if [ "$failed" -ne 0 ]; then
        log "fuzzing found a problem (the inputs are in $fb/artifacts)"
        return 1
    fi
}

case "${1:-}" in
run) shift; cmd_run "$@" ;;
test) shift; cmd_test "$@" ;;
bench) shift; cmd_bench "$@" ;;
fuzz) shift; cmd_fuzz "$@" ;;
build) shift; configure_and_build ;;
*)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
