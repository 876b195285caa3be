#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 with trust auth and a `test`
# database: installs Debian's server if it is missing, starts the cluster if it is down.
set -euo pipefail
ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "installing postgresql from Debian's packages"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
if ! ready; then
  version=$(ls /etc/postgresql | sort -V | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || pg_ctlcluster "$version" main start
fi
for _ in $(seq 1 30); do ready && break; sleep 1; done
ready || { echo "PostgreSQL did not become ready on 127.0.0.1:5432" >&2; exit 1; }
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1" >/dev/null 2>&1; then
  # A fresh Debian cluster asks for passwords on TCP: trust loopback, as the tests expect.
  version=$(ls /etc/postgresql | sort -V | tail -1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
  su postgres -c "psql -qc 'select pg_reload_conf()'" >/dev/null
fi
psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1 from pg_database where datname = 'test'" |
  grep -q 1 || psql -h 127.0.0.1 -U postgres -d postgres -qc "create database test"
echo "PostgreSQL is ready: $(psql -h 127.0.0.1 -U postgres -d test -tAc 'show server_version')"
