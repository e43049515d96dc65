# shellcheck shell=bash
# A real OpenID Provider for the identity tests: the certified `oidc-provider`
# npm package, on 127.0.0.1, with the provider script scripts/lib/oidc-peer/server.mjs.
#
# Meant to be sourced by scripts/test:
#
#     . scripts/lib/oidc.sh       # installs what is missing, starts the provider, exports the env
#     trap 'oidc_stop; peers_stop' EXIT
#
# Sourcing it (or calling `oidc_start` again) is idempotent: oidc-provider is
# npm-installed into .cache/oidc-peer/ (gitignored) only when a previous run
# did not complete that install, and every run starts a fresh provider (fresh
# signing keys, fresh client secret) on a free port of 127.0.0.1. The
# provider belongs to the shell that sourced this file (its pid is the owner):
# two runs in one work tree do not share or kill each other's provider, and
# leftovers of runs whose shell is gone are cleaned up. Needs Node >= 20 and
# npm (oidc-provider prints a "use Node 22" warning on Node 20 and works);
# never reads stdin.
#
# Exported for the test suites:
#   PHIGATE_TEST_OIDC_ISSUER         http://127.0.0.1:<port>
#   PHIGATE_TEST_OIDC_CLIENT_ID      confidential client (client_secret_basic, PKCE required)
#   PHIGATE_TEST_OIDC_CLIENT_SECRET
#   PHIGATE_TEST_OIDC_REDIRECT_URI   registered redirect URI (nothing listens there; tests read Location)
#   PHIGATE_TEST_OIDC_RESOURCE       API audience of JWT access tokens (client_credentials + resource)
# and PHIGATE_OIDC_PEER_PID, which `oidc_stop` ends.
#
# Run directly (`bash scripts/lib/oidc.sh`) it starts the provider and prints
# the export lines for a developer's shell.
#
# It does not change the caller's shell options; helpers and variables are prefixed `_oidc_`.

_oidc_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_oidc_cache="$_oidc_root/.cache/oidc-peer"
_oidc_owner="$$"
# The major version the provider script is written for.
_oidc_package="oidc-provider@9"

_oidc_log() { printf 'oidc-peer: %s\n' "$*" >&2; }

# Installs oidc-provider into .cache/oidc-peer unless a previous run completed it.
_oidc_ensure() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        _oidc_log "node and npm are required (Node >= 20)"
        return 1
    fi
    if [ -f "$_oidc_cache/.phigate-complete" ] && [ -f "$_oidc_cache/node_modules/oidc-provider/package.json" ]; then
        _oidc_log "oidc-provider already installed ($_oidc_cache)"
        return 0
    fi
    mkdir -p "$_oidc_cache" || return 1
    rm -f "$_oidc_cache/.phigate-complete"
    if [ ! -f "$_oidc_cache/package.json" ]; then
        printf '{ "name": "phigate-oidc-peer", "private": true, "type": "module" }\n' >"$_oidc_cache/package.json"
    fi
    _oidc_log "npm install $_oidc_package into $_oidc_cache"
    (cd "$_oidc_cache" && npm install --no-audit --no-fund --loglevel=error "$_oidc_package" </dev/null >&2) \
        || { _oidc_log "npm install $_oidc_package failed"; return 1; }
    touch "$_oidc_cache/.phigate-complete"
}

# Prints a TCP port on 127.0.0.1 that was free a moment ago.
_oidc_free_port() {
    node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Succeeds when the discovery document answers (curl if present: cheaper than a node start).
_oidc_ready() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsS --max-time 2 -o /dev/null "$1/.well-known/openid-configuration" 2>/dev/null
        return
    fi
    node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));' \
        "$1/.well-known/openid-configuration" 2>/dev/null
}

# Ends the provider whose pid is in $1, if it is still one of ours, and removes the pid file.
_oidc_kill() {
    local pidfile="$1" pid
    [ -f "$pidfile" ] || return 0
    pid="$(cat "$pidfile")"
    rm -f "$pidfile"
    if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] \
        && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$_oidc_cache/server.mjs"; then
        _oidc_log "stopping provider (pid $pid)"
        kill "$pid" 2>/dev/null || true
    fi
}

# Cleans up after earlier runs whose owning shell has exited.
_oidc_reap_stale() {
    local f owner
    for f in "$_oidc_cache"/provider-*.pid; do
        [ -f "$f" ] || continue
        owner="${f##*/provider-}"
        owner="${owner%.pid}"
        if [ "$owner" != "$_oidc_owner" ] && ! kill -0 "$owner" 2>/dev/null; then
            _oidc_log "cleaning up after run $owner"
            _oidc_kill "$f"
            rm -f "$_oidc_cache/provider-$owner.log"
        fi
    done
}

# Starts the provider on a free port and waits until discovery answers.
_oidc_start_provider() {
    local attempt port pid i secret log="$_oidc_cache/provider-$_oidc_owner.log"
    # The script must sit next to node_modules for `import 'oidc-provider'` to resolve.
    cp "$_oidc_root/scripts/lib/oidc-peer/server.mjs" "$_oidc_cache/server.mjs" || return 1
    secret="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" || return 1
    for attempt in 1 2 3; do
        port="$(_oidc_free_port)" || return 1
        _oidc_log "starting oidc-provider on 127.0.0.1:$port (log: $log)"
        PORT="$port" CLIENT_ID="phigate-test" CLIENT_SECRET="$secret" \
            REDIRECT_URI="http://127.0.0.1/phigate/oidc/callback" RESOURCE="urn:phigate:api" \
            node "$_oidc_cache/server.mjs" </dev/null >"$log" 2>&1 &
        pid=$!
        # Up to about a minute: on a loaded 2-core machine node alone can take 20 s to start.
        for i in $(seq 1 300); do
            if ! kill -0 "$pid" 2>/dev/null; then
                break
            fi
            if _oidc_ready "http://127.0.0.1:$port"; then
                echo "$pid" >"$_oidc_cache/provider-$_oidc_owner.pid"
                export PHIGATE_OIDC_PEER_PID="$pid"
                export PHIGATE_TEST_OIDC_ISSUER="http://127.0.0.1:$port"
                export PHIGATE_TEST_OIDC_CLIENT_ID="phigate-test"
                export PHIGATE_TEST_OIDC_CLIENT_SECRET="$secret"
                export PHIGATE_TEST_OIDC_REDIRECT_URI="http://127.0.0.1/phigate/oidc/callback"
                export PHIGATE_TEST_OIDC_RESOURCE="urn:phigate:api"
                _oidc_log "provider answers at $PHIGATE_TEST_OIDC_ISSUER (pid $pid, after $i tries)"
                return 0
            fi
            sleep 0.2
        done
        _oidc_log "provider did not come up on port $port (attempt $attempt):"
        tail -n 20 "$log" >&2 || true
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    return 1
}

# Installs what is missing, starts the provider, exports the env.
oidc_start() {
    local started=$SECONDS
    _oidc_ensure || return 1
    if [ -n "${PHIGATE_OIDC_PEER_PID:-}" ]; then
        oidc_stop
    fi
    _oidc_reap_stale
    _oidc_start_provider || return 1
    _oidc_log "ready in $((SECONDS - started))s"
}

# Stops the provider this run started. Safe to call twice.
oidc_stop() {
    local pid="${PHIGATE_OIDC_PEER_PID:-}"
    _oidc_kill "$_oidc_cache/provider-$_oidc_owner.pid"
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -f "$_oidc_cache/provider-$_oidc_owner.log"
    unset PHIGATE_OIDC_PEER_PID PHIGATE_TEST_OIDC_ISSUER PHIGATE_TEST_OIDC_CLIENT_ID \
        PHIGATE_TEST_OIDC_CLIENT_SECRET PHIGATE_TEST_OIDC_REDIRECT_URI PHIGATE_TEST_OIDC_RESOURCE
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    # Executed, not sourced: start the provider and print the environment to eval.
    set -euo pipefail
    _oidc_owner="$PPID"
    oidc_start
    for _oidc_var in PHIGATE_TEST_OIDC_ISSUER PHIGATE_TEST_OIDC_CLIENT_ID PHIGATE_TEST_OIDC_CLIENT_SECRET \
        PHIGATE_TEST_OIDC_REDIRECT_URI PHIGATE_TEST_OIDC_RESOURCE; do
        printf 'export %s=%q\n' "$_oidc_var" "${!_oidc_var}"
    done
    printf '# stop the provider with: kill %s\n' "$PHIGATE_OIDC_PEER_PID"
    disown "$PHIGATE_OIDC_PEER_PID" 2>/dev/null || true
else
    oidc_start
fi
