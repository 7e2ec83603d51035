#!/usr/bin/env bash
# Runs pcscd for the tests, without systemd.
#
#   scripts/pcscd.sh start   start pcscd in the background (unless one is
#                            already running) and wait until the virtual
#                            reader is listed
#   scripts/pcscd.sh stop    stop the pcscd this script started, by its pid
#   scripts/pcscd.sh status  say whether it runs and list the readers
#
# Callers stop it also when they fail:  trap 'scripts/pcscd.sh stop' EXIT
#
# Environment:
#   EMV_PCSCD_DIR      where the pid file and log go (default target/pcscd)
#   EMV_PCSCD_READER   reader to wait for (default "Virtual PCD 00 00")
#   EMV_PCSCD_WAIT_MS  bound on that wait (default 15000)
#   EMV_PCSCD_DEBUG=1  run pcscd with --debug (log in the state dir)
#   EMV_PCSC_WAIT      path of a built emv-pcsc-wait (default: cargo run it)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state_dir=${EMV_PCSCD_DIR:-$root/target/pcscd}
pid_file=$state_dir/pcscd.pid
log_file=$state_dir/pcscd.log
reader=${EMV_PCSCD_READER:-Virtual PCD 00 00}
wait_ms=${EMV_PCSCD_WAIT_MS:-15000}

# Our pid, if the pid file names a live pcscd.
our_pid() {
    [ -f "$pid_file" ] || return 1
    local pid
    pid=$(cat "$pid_file")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = pcscd ] && echo "$pid"
}

wait_for_reader() {
    if [ -n "${EMV_PCSC_WAIT:-}" ]; then
        "$EMV_PCSC_WAIT" --reader "$reader" --timeout-ms "$wait_ms"
    else
        (cd "$root" && cargo run -q -p emv-pcsc --bin emv-pcsc-wait -- --reader "$reader" --timeout-ms "$wait_ms")
    fi
}

start() {
    mkdir -p "$state_dir"
    if pid=$(our_pid); then
        echo "pcscd.sh: pcscd already started by us (pid $pid)"
    elif pgrep -x pcscd >/dev/null 2>&1; then
        echo "pcscd.sh: using the pcscd already running (not ours, will not stop it)"
        rm -f "$pid_file"
    else
        command -v pcscd >/dev/null || { echo "pcscd.sh: pcscd not installed: run scripts/install-deps.sh" >&2; exit 1; }
        mkdir -p /run/pcscd
        local debug=()
        if [ "${EMV_PCSCD_DEBUG:-0}" = 1 ]; then debug=(--debug); fi
        pcscd --foreground "${debug[@]}" >"$log_file" 2>&1 &
        echo $! >"$pid_file"
        echo "pcscd.sh: started pcscd (pid $(cat "$pid_file"), log $log_file)"
    fi
    if ! wait_for_reader; then
        echo "pcscd.sh: reader '$reader' did not appear; pcscd log:" >&2
        tail -n 30 "$log_file" >&2 2>/dev/null || true
        stop
        exit 1
    fi
}

stop() {
    local pid
    if ! pid=$(our_pid); then
        rm -f "$pid_file"
        echo "pcscd.sh: no pcscd started by us"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pid_file"
    echo "pcscd.sh: stopped pcscd (pid $pid)"
}

status() {
    if pid=$(our_pid); then
        echo "pcscd.sh: running, started by us (pid $pid)"
    elif pgrep -x pcscd >/dev/null 2>&1; then
        echo "pcscd.sh: running, not started by us"
    else
        echo "pcscd.sh: not running"
        return 3
    fi
    (cd "$root" && cargo run -q -p emv-terminal -- readers) || true
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
