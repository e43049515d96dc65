# shellcheck shell=bash
# Real test peers for the key providers: SoftHSM2 (PKCS#11) and moto (AWS KMS API).
#
# Meant to be sourced by scripts/test:
#
#     . scripts/lib/peers.sh      # installs what is missing, starts the peers, exports the env
#     trap peers_stop EXIT
#
# Sourcing it (or calling `peers_start` again) is idempotent: softhsm2 is
# apt-installed only when `softhsm2-util` is missing, the moto venv
# (.cache/venv-moto, gitignored) is built only when it is not complete, and
# every run gets a fresh SoftHSM2 token under .cache/softhsm/<owner>/ and a
# fresh moto server on a free port of 127.0.0.1, where <owner> is the pid of
# the shell that sourced this file: two test runs in one work tree do not
# share or kill each other's peers, and leftovers of runs whose shell is gone
# are cleaned up. It works as root on a bare Debian machine with no network
# but Debian's archive and PyPI, and never reads stdin.
#
# Exported for the test suites:
#   SOFTHSM2_CONF, PHIGATE_TEST_PKCS11_MODULE, PHIGATE_TEST_PKCS11_TOKEN,
#   PHIGATE_TEST_PKCS11_PIN, PHIGATE_TEST_KMS_ENDPOINT, PHIGATE_REQUIRE_PEERS=1
# and PHIGATE_PEERS_MOTO_PID, which `peers_stop` ends.
#
# Run directly (`bash scripts/lib/peers.sh`) it starts the peers and prints the
# export lines for a developer's shell; stop moto with `kill <pid>` printed there.
#
# It does not change the caller's shell options (set -e/-u/pipefail) and all
# its helpers and variables are prefixed `_peers_`.

_peers_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_peers_cache="$_peers_root/.cache"

_peers_owner="$$"

_peers_log() { printf 'peers: %s\n' "$*" >&2; }

# Runs a command as root (directly, or through non-interactive sudo).
_peers_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        _peers_log "need root to run: $*"
        return 1
    fi
}

_peers_apt_updated=0
# Installs Debian packages; `apt-get update` runs once, and only when installing.
_peers_apt_install() {
    if [ "$_peers_apt_updated" -eq 0 ]; then
        _peers_log "apt-get update"
        _peers_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >&2 || return 1
        _peers_apt_updated=1
    fi
    _peers_log "apt-get install -y --no-install-recommends $*"
    # Progress goes to stderr: stdout of a direct run is meant for `eval`.
    _peers_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null >&2
}

_peers_ensure_softhsm() {
    if command -v softhsm2-util >/dev/null 2>&1; then
        _peers_log "softhsm2 already installed ($(command -v softhsm2-util))"
    else
        _peers_apt_install softhsm2 || { _peers_log "installing softhsm2 failed"; return 1; }
    fi
    local candidate
    _peers_softhsm_module=""
    for candidate in /usr/lib/softhsm/libsofthsm2.so \
        "/usr/lib/$(uname -m)-linux-gnu/softhsm/libsofthsm2.so" \
        /usr/local/lib/softhsm/libsofthsm2.so; do
        if [ -f "$candidate" ]; then
            _peers_softhsm_module="$candidate"
            break
        fi
    done
    if [ -z "$_peers_softhsm_module" ] && command -v dpkg >/dev/null 2>&1; then
        _peers_softhsm_module="$(dpkg -L libsofthsm2 2>/dev/null | grep '/libsofthsm2\.so$' | head -n 1)"
    fi
    if [ -z "$_peers_softhsm_module" ]; then
        _peers_log "cannot find libsofthsm2.so after installing softhsm2"
        return 1
    fi
    _peers_log "PKCS#11 module: $_peers_softhsm_module"
}

# Creates a fresh token in .cache/softhsm/ with its own configuration file.
_peers_init_token() {
    local dir="$_peers_cache/softhsm/$_peers_owner"
    local label="phigate-test"
    local pin so_pin
    pin="$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" || return 1
    so_pin="$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" || return 1
    rm -rf "$dir"
    mkdir -p "$dir/tokens" || return 1
    chmod 700 "$_peers_cache/softhsm" "$dir"
    cat >"$dir/softhsm2.conf" <<EOF
# Written by scripts/lib/peers.sh for the test suite; recreated every run.
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
    _peers_log "initializing SoftHSM2 token '$label' in $dir/tokens"
    SOFTHSM2_CONF="$dir/softhsm2.conf" softhsm2-util --init-token --free --label "$label" \
        --pin "$pin" --so-pin "$so_pin" </dev/null >/dev/null || { _peers_log "softhsm2-util --init-token failed"; return 1; }
    export SOFTHSM2_CONF="$dir/softhsm2.conf"
    export PHIGATE_TEST_PKCS11_MODULE="$_peers_softhsm_module"
    export PHIGATE_TEST_PKCS11_TOKEN="$label"
    export PHIGATE_TEST_PKCS11_PIN="$pin"
}

# Builds .cache/venv-moto with moto[server] unless a previous run completed it.
_peers_ensure_moto() {
    local venv="$_peers_cache/venv-moto"
    if [ -x "$venv/bin/moto_server" ] && [ -f "$venv/.phigate-complete" ]; then
        _peers_log "moto already installed ($venv)"
        return 0
    fi
    local py
    py="$(command -v python3 || true)"
    if [ -z "$py" ]; then
        _peers_apt_install python3 python3-venv || return 1
        py="$(command -v python3)" || return 1
    fi
    rm -rf "$venv"
    mkdir -p "$_peers_cache"
    _peers_log "creating venv $venv with $py"
    if ! "$py" -m venv "$venv" </dev/null >&2; then
        # Debian's python3 ships venv without ensurepip until python3-venv is installed.
        rm -rf "$venv"
        _peers_apt_install python3-venv || return 1
        "$py" -m venv "$venv" </dev/null >&2 || { _peers_log "python3 -m venv failed"; return 1; }
    fi
    _peers_log "pip install 'moto[server]>=5,<6' (PyPI)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input 'moto[server]>=5,<6' </dev/null >&2 \
        || { _peers_log "pip install moto[server] failed"; return 1; }
    touch "$venv/.phigate-complete"
}

# Prints a TCP port on 127.0.0.1 that was free a moment ago.
_peers_free_port() {
    "$_peers_cache/venv-moto/bin/python" -c \
        'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts moto_server on a free port and waits until it answers HTTP.
_peers_start_moto() {
    local venv="$_peers_cache/venv-moto"
    local attempt port pid i
    for attempt in 1 2 3; do
        port="$(_peers_free_port)" || return 1
        _peers_log "starting moto_server on 127.0.0.1:$port (log: $_peers_cache/moto-$_peers_owner.log)"
        "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" </dev/null >"$_peers_cache/moto-$_peers_owner.log" 2>&1 &
        pid=$!
        for i in $(seq 1 150); do
            if ! kill -0 "$pid" 2>/dev/null; then
                break
            fi
            if "$venv/bin/python" - "$port" <<'EOF' 2>/dev/null; then
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=1).read()
EOF
                export PHIGATE_PEERS_MOTO_PID="$pid"
                export PHIGATE_TEST_KMS_ENDPOINT="http://127.0.0.1:$port"
                echo "$pid" >"$_peers_cache/moto-$_peers_owner.pid"
                _peers_log "moto_server answers at $PHIGATE_TEST_KMS_ENDPOINT (pid $pid, after ${i} tries)"
                return 0
            fi
            sleep 0.2
        done
        _peers_log "moto_server did not come up on port $port (attempt $attempt):"
        tail -n 20 "$_peers_cache/moto-$_peers_owner.log" >&2 || true
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    return 1
}

# Ends the moto_server whose pid is in $1, if it is still one of ours (its
# command line names our venv), and removes the pid file.
_peers_kill_moto() {
    local pidfile="$1" pid
    [ -f "$pidfile" ] || return 0
    pid="$(cat "$pidfile")"
    rm -f "$pidfile"
    if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] \
        && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$_peers_cache/venv-moto/bin/moto_server"; then
        _peers_log "stopping moto_server (pid $pid)"
        kill "$pid" 2>/dev/null || true
    fi
}

# Cleans up after earlier runs whose owning shell has exited.
_peers_reap_stale() {
    local f owner dir
    for f in "$_peers_cache"/moto-*.pid; do
        [ -f "$f" ] || continue
        owner="${f##*/moto-}"
        owner="${owner%.pid}"
        if [ "$owner" != "$_peers_owner" ] && ! kill -0 "$owner" 2>/dev/null; then
            _peers_log "cleaning up after run $owner"
            _peers_kill_moto "$f"
            rm -f "$_peers_cache/moto-$owner.log"
        fi
    done
    for dir in "$_peers_cache"/softhsm/*/; do
        [ -d "$dir" ] || continue
        owner="$(basename "$dir")"
        case "$owner" in *[!0-9]*) continue ;; esac
        if [ "$owner" != "$_peers_owner" ] && ! kill -0 "$owner" 2>/dev/null; then
            rm -rf "$dir"
        fi
    done
}

# Installs what is missing, starts moto, creates a token, exports the env.
peers_start() {
    local started=$SECONDS
    mkdir -p "$_peers_cache" || return 1
    _peers_ensure_softhsm || return 1
    _peers_ensure_moto || return 1
    if [ -n "${PHIGATE_PEERS_MOTO_PID:-}" ]; then
        peers_stop
    fi
    _peers_reap_stale
    _peers_init_token || return 1
    _peers_start_moto || return 1
    export PHIGATE_REQUIRE_PEERS=1
    _peers_log "ready in $((SECONDS - started))s: SoftHSM2 token '$PHIGATE_TEST_PKCS11_TOKEN', KMS at $PHIGATE_TEST_KMS_ENDPOINT"
}

# Stops the moto server this run started and removes its token. Safe to call twice.
peers_stop() {
    local pid="${PHIGATE_PEERS_MOTO_PID:-}"
    _peers_kill_moto "$_peers_cache/moto-$_peers_owner.pid"
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$_peers_cache/softhsm/$_peers_owner" "$_peers_cache/moto-$_peers_owner.log"
    unset PHIGATE_PEERS_MOTO_PID
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    # Executed, not sourced: start the peers and print the environment to
    # eval. The peers belong to the calling shell, which outlives this one.
    set -euo pipefail
    _peers_owner="$PPID"
    peers_start
    for _peers_var in SOFTHSM2_CONF PHIGATE_TEST_PKCS11_MODULE PHIGATE_TEST_PKCS11_TOKEN \
        PHIGATE_TEST_PKCS11_PIN PHIGATE_TEST_KMS_ENDPOINT PHIGATE_REQUIRE_PEERS; do
        printf 'export %s=%q\n' "$_peers_var" "${!_peers_var}"
    done
    printf '# stop the KMS peer with: kill %s\n' "$PHIGATE_PEERS_MOTO_PID"
    # The background server must outlive this shell.
    disown "$PHIGATE_PEERS_MOTO_PID" 2>/dev/null || true
else
    peers_start
fi
