#!/usr/bin/env bash
# Throw-away PostgreSQL for the test suite: guomi.kms's postgres storage and the
# cross-process tests need a real server; CI runs them, never skips them.
#
#   scripts/pg-test-server.sh run -- CMD [ARGS...]
#       install PostgreSQL from Debian's packages if it is missing, create a cluster
#       under a temporary directory, start it on 127.0.0.1 on a free port, create the
#       database `guomi_test`, run CMD with
#           GUOMI_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:PORT/guomi_test
#       in its environment, then stop the cluster and delete the directory (trap, also
#       on failure or Ctrl-C). Exits with CMD's status.
#
#   eval "$(scripts/pg-test-server.sh start)"   # prints export lines (URL, PGTEST_DIR)
#   scripts/pg-test-server.sh stop "$PGTEST_DIR"
#
# Outside CI, a machine where PostgreSQL cannot be installed (not root, no apt) still
# runs CMD, without the variable: the postgres tests then skip locally. With CI set,
# that is an error (the tests also fail rather than skip when CI is set).
#
# The cluster trusts connections from 127.0.0.1 only and runs with fsync off: it holds
# nothing but test data and lives for one run.
set -euo pipefail

log() { echo "pg-test-server: $*" >&2; }

pg_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    done
    return 1
}

ensure_installed() {
    if pg_bindir >/dev/null; then return 0; fi
    if [[ $(id -u) -ne 0 ]]; then
        log "PostgreSQL is not installed and this is not root: cannot apt-get install it"
        return 1
    fi
    log "installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    pg_bindir >/dev/null
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Run a PostgreSQL binary as the cluster owner: initdb/postgres refuse to run as root.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        if command -v runuser >/dev/null; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

start() {
    ensure_installed || return 1
    local bindir dir port
    bindir=$(pg_bindir)
    if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/guomi-pgtest.XXXXXX")
    chmod 700 "$dir"
    if [[ $(id -u) -eq 0 ]]; then chown postgres: "$dir"; fi
    port=$(free_port)
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 \
        --no-instructions >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir \
            -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null || { cat "$dir/server.log" >&2; return 1; }
    as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres guomi_test
    echo "export PGTEST_DIR=$dir"
    echo "export PGTEST_BINDIR=$bindir"
    echo "export GUOMI_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$port/guomi_test"
    log "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir)"
}

stop() {
    local dir=$1 bindir
    [[ -n "$dir" && -d "$dir" ]] || return 0
    bindir=${PGTEST_BINDIR:-$(pg_bindir)}
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    log "stopped and removed $dir"
}

case "${1:-}" in
    start)
        start
        ;;
    stop)
        stop "${2:-${PGTEST_DIR:-}}"
        ;;
    run)
        shift
        [[ "${1:-}" == "--" ]] && shift
        [[ $# -gt 0 ]] || { log "usage: $0 run -- CMD [ARGS...]"; exit 2; }
        if [[ -n "${GUOMI_TEST_POSTGRES_URL:-}" ]]; then
            log "using GUOMI_TEST_POSTGRES_URL from the environment"
            exec "$@"
        fi
        if exports=$(start); then
            eval "$exports"
            trap 'stop "$PGTEST_DIR"' EXIT
            trap 'exit 130' INT TERM
            set +e
            "$@"
            status=$?
            set -e
            exit "$status"
        fi
        if [[ -n "${CI:-}" ]]; then
            log "CI is set and PostgreSQL could not be started: failing (postgres tests must run in CI)"
            exit 1
        fi
        log "WARNING: no PostgreSQL; postgres tests will be skipped on this machine"
        exec "$@"
        ;;
    *)
        echo "usage: $0 run -- CMD [ARGS...] | start | stop DIR" >&2
        exit 2
        ;;
esac
