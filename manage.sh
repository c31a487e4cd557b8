#!/usr/bin/env bash
# housingcredit set-up on a fresh Debian machine.
#   ./manage.sh serve       install what is missing, migrate, load demo data, serve on http://127.0.0.1:5000
#   ./manage.sh test [ARGS] install what is missing, run the whole test suite (ARGS go to pytest)
set -euo pipefail

cd "$(dirname "$0")"
ROOT="$PWD"
VENV="$ROOT/.venv"
STAMP="$VENV/.housingcredit-installed"
# apt and pip detail goes here; the terminal gets one line per step, and the log's tail when a step fails.
LOG="$ROOT/instance/install.log"
# libatomic1: the Node.js driver bundled with Playwright (browser tests) needs it; a fresh Debian 12 lacks it.
DEBIAN_PACKAGES=(python3 python3-venv libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-microhei
                 poppler-utils chromium libatomic1)

say() { printf '==> %s\n' "$*" >&2; }

start_log() {
    mkdir -p "$(dirname "$LOG")"
    printf '%s ./manage.sh %s\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" "$*" > "$LOG"
}

show_log_tail() {
    say "the last lines of $LOG:"
    tail -n 40 "$LOG" | sed 's/^/    /' >&2
}

# logged STEP COMMAND...: run the command with its output in the log; on failure show the log's tail and stop.
logged() {
    local step="$1" rc=0
    shift
    printf '\n$ %s\n' "$*" >> "$LOG"
    "$@" >> "$LOG" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        say "FAILED: $step (exit status $rc)"
        show_log_tail
        exit "$rc"
    fi
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "need root (or sudo) to run: $*"
        return 1
    fi
}

install_debian_packages() {
    command -v dpkg-query >/dev/null 2>&1 || { say "not a Debian system: install ${DEBIAN_PACKAGES[*]} yourself"; return 0; }
    local missing=() pkg
    for pkg in "${DEBIAN_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing Debian packages ${missing[*]} … (log: $LOG)"
    logged "apt-get update" as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    logged "apt-get install ${missing[*]}" as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
}

install_python() {
    local want
    want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating the virtual environment $VENV … (log: $LOG)"
        logged "python3 -m venv $VENV" python3 -m venv "$VENV"
    fi
    if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
        say "installing Python dependencies (pip install -e '.[test]') … (log: $LOG)"
        logged "pip install -e '.[test]'" "$VENV/bin/python" -m pip install --disable-pip-version-check \
            --progress-bar off -e '.[test]'
        echo "$want" > "$STAMP"
    fi
}

compile_translations() {
    if [ -d translations ] && [ -n "$(find translations -name '*.po' -print -quit)" ]; then
        say "compiling translations … (log: $LOG)"
        # The app never compiles at start-up (a read-only deployment still speaks Chinese): the .mo files are
        # produced here, and a catalogue that does not compile stops the installation.
        logged "pybabel compile -d translations" "$VENV/bin/pybabel" compile -d translations
    fi
}

install() {
    start_log "$@"
    install_debian_packages
    install_python
    compile_translations
}

export FLASK_APP=wsgi:app

case "${1:-}" in
    serve)
        shift
        install serve
        say "migrating the database"
        "$VENV/bin/flask" db upgrade
        "$VENV/bin/flask" demo load --if-empty --households 2000
        # the reference receiver (a stand-in for the provincial credit platform) beside the app, on loopback;
        # push with `flask platform push --once` (or `flask jobs run`) and see /platform
        "$VENV/bin/flask" platform receiver --port 5055 >> "$ROOT/instance/receiver.log" 2>&1 &
        RECEIVER_PID=$!
        trap 'kill "$RECEIVER_PID" 2>/dev/null || true' EXIT INT TERM
        export HOUSINGCREDIT_PLATFORM_URL="${HOUSINGCREDIT_PLATFORM_URL:-http://127.0.0.1:5055}"
        echo
        echo "housingcredit is running at http://127.0.0.1:5000  (Ctrl-C stops it)"
        echo "reference platform receiver at http://127.0.0.1:5055 (log: instance/receiver.log)"
        echo
        "$VENV/bin/flask" run --host 127.0.0.1 --port 5000 "$@"
        ;;
    test)
        shift
        install test
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    *)
        echo "usage: $0 serve | test [pytest arguments]" >&2
        exit 2
        ;;
esac
