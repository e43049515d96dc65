# shellcheck shell=bash
# PostgreSQL for the store's conformance suite. Sourced by scripts/test.
#
# Uses the machine's PostgreSQL on 127.0.0.1:5432 when it answers; otherwise
# installs Debian's `postgresql` and starts its cluster. Then provisions a
# dedicated role and database (idempotent) and exports
# PHIGATE_TEST_POSTGRES_URL. Each test creates and drops its own schema.

_pg_log() { printf 'postgres: %s\n' "$*" >&2; }

_pg_as_postgres() {
    if command -v runuser >/dev/null 2>&1; then runuser -u postgres -- "$@"; else su postgres -c "$(printf '%q ' "$@")"; fi
}

postgres_start() {
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        sys_apt_install postgresql
    fi
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        local version
        version="$(ls /etc/postgresql | sort -V | tail -1)"
        _pg_log "starting cluster $version/main"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start
        local i
        for i in $(seq 1 30); do
            pg_isready -q -h 127.0.0.1 -p 5432 && break
            sleep 1
        done
        pg_isready -q -h 127.0.0.1 -p 5432 || { _pg_log "PostgreSQL did not come up on 127.0.0.1:5432"; return 1; }
    fi
    # A role with a password works whether the cluster uses trust or scram for TCP.
    _pg_as_postgres psql -q -v ON_ERROR_STOP=1 -d postgres <<'SQL' >/dev/null
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'phigate_test') THEN
    CREATE ROLE phigate_test LOGIN PASSWORD 'phigate-test';
  END IF;
END $$;
SQL
    if [ "$(_pg_as_postgres psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'phigate_test'" -d postgres)" != "1" ]; then
        _pg_as_postgres createdb -O phigate_test phigate_test
    fi
    export PHIGATE_TEST_POSTGRES_URL="postgres://phigate_test:phigate-test@127.0.0.1:5432/phigate_test"
    _pg_log "ready: $PHIGATE_TEST_POSTGRES_URL"
}
