# shellcheck shell=bash
# Shared by scripts/demo and scripts/test: make sure the build toolchain and
# the system packages are present on a fresh Debian machine.

_sys_log() { printf '==> %s\n' "$*" >&2; }

_sys_apt_updated=0
# Installs the Debian packages given, running `apt-get update` once first.
sys_apt_install() {
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
    if [ "$_sys_apt_updated" -eq 0 ]; then
        _sys_log "apt-get update"
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
        _sys_apt_updated=1
    fi
    _sys_log "apt-get install $*"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null
}

# Installs each command's package when the command is missing.
# Arguments: pairs of COMMAND:PACKAGE.
sys_require() {
    local missing=() pair
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        sys_apt_install "${missing[@]}"
    fi
}

# The Rust toolchain cannot be downloaded here; say so clearly if absent.
# Installs each Debian package that is not installed yet (libraries and
# headers, which have no command to look for).
sys_require_pkg() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        sys_apt_install "${missing[@]}"
    fi
}

sys_require_cargo() {
    if ! command -v cargo >/dev/null 2>&1; then
        [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        _sys_log "cargo not found: install a Rust toolchain >= 1.88 (rustup or Debian's cargo) and re-run"
        return 1
    fi
}
