# shellcheck shell=bash
# The real `openai` Python client (PyPI, pinned) in a throwaway virtual
# environment under .cache, for the end-to-end test that drives phigate's
# OpenAI-compatible API with it (crates/phigate/tests/e2e_openai_client.rs).
# Exports PHIGATE_TEST_OPENAI_PYTHON.

_OPENAI_CLIENT_VERSION="3.54.0"

openai_client_setup() {
    local root venv
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    venv="$root/.cache/venv-openai"
    if ! "$venv/bin/python" -c "import openai, sys; sys.exit(openai.__version__ != '$_OPENAI_CLIENT_VERSION')" 2>/dev/null; then
        printf 'openai-client: installing openai==%s into %s\n' "$_OPENAI_CLIENT_VERSION" "$venv" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "openai==$_OPENAI_CLIENT_VERSION"
    fi
    export PHIGATE_TEST_OPENAI_PYTHON="$venv/bin/python"
}
