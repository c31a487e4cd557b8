#!/usr/bin/env bash
# housingcredit set-up on a fresh Debian machine.
#   ./manage.sh serve       install what is missing, migrate, load demo data, serve on http://127.0.0.1:5000
#   ./manage.sh test [ARGS] install what is missing, run the whole test suite (ARGS go to pytest)
set -euo pipefail

cd "$(dirname "$0")"
ROOT="$PWD"
VENV="$ROOT/.venv"
STAMP="$VENV/.housingcredit-installed"
DEBIAN_PACKAGES=(python3 python3-venv libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-microhei
                 poppler-utils chromium)

say() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        say "need root to run: $*"
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
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

install_python() {
    local want
    want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating $VENV"
        python3 -m venv "$VENV"
    fi
    if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
        say "installing Python dependencies (pip install -e '.[test]')"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]'
        echo "$want" > "$STAMP"
    fi
}

compile_translations() {
    if [ -d translations ] && [ -n "$(find translations -name '*.po' -print -quit)" ]; then
        # The app also compiles a stale catalogue at start-up, and tests/test_i18n.py fails on a bad one:
        # a catalogue error is reported here but does not stop the command.
        "$VENV/bin/pybabel" -q compile -d translations \
            || say "warning: translations did not compile (see above); fix translations/*/LC_MESSAGES/*.po"
    fi
}

install() {
    install_debian_packages
    install_python
    compile_translations
}

export FLASK_APP=wsgi:app

case "${1:-}" in
    serve)
        shift
        install
        say "migrating the database"
        "$VENV/bin/flask" db upgrade
        "$VENV/bin/flask" demo load --if-empty --households 2000
        echo
        echo "housingcredit is running at http://127.0.0.1:5000  (Ctrl-C stops it)"
        echo
        exec "$VENV/bin/flask" run --host 127.0.0.1 --port 5000 "$@"
        ;;
    test)
        shift
        install
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    *)
        echo "usage: $0 serve | test [pytest arguments]" >&2
        exit 2
        ;;
esac
