#!/bin/bash
# Patroni with Debian's PostgreSQL 15 on two hosts through the patroni
# backend: h1..h3 bootstrap etcd, h1 and h2 also run the service "pg"
# (size 2, as the user postgres); Patroni uses that etcd as its etcd3 DCS;
# one host is the primary and the other a streaming replica (Patroni's
# REST API), and a row written on the primary is read on the replica.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

command -v patroni >/dev/null || skip "Debian's patroni package is not installed"
[ -x /usr/lib/postgresql/15/bin/postgres ] || skip "PostgreSQL 15 is not installed"
id postgres >/dev/null 2>&1 || skip "no postgres user"

net_up 3
zone_std 3
# PostgreSQL runs as postgres: it must reach its directories.
chmod 0755 "$WORK"

PW_SU=su-secret
for i in 1 2 3; do
	mkdir -p "$WORK/h$i"
	chmod 0755 "$WORK/h$i"
	if [ "$i" = 3 ]; then
		: >"$WORK/h$i/zooinit.conf"
		continue
	fi
	cat >"$WORK/h$i/zooinit.conf" <<EOF
services = ("pg");
service = {
  pg = {
    backend = "patroni";
    size = 2;
    user = "postgres";
    data_dir = "$WORK/h$i/pg";
    su_password = "$PW_SU";
    repl_password = "repl-secret";
    health_interval = 2;
    start_timeout = 240;
  };
};
EOF
done
for i in 1 2 3; do
	run_agent "$i" -f "$WORK/h$i/zooinit.conf" --size 3
done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the etcd cluster did not form"

rest() { # I PATH: the HTTP status of Patroni's REST API on host I
	timeout -k 1 5 ip netns exec "$(host_ns "$1")" curl -s -o /dev/null \
		-w '%{http_code}' "http://$(host_ip "$1"):8008$2"
}
roles() { # one primary and one replica
	local p1 p2 r1 r2
	p1=$(rest 1 /primary) p2=$(rest 2 /primary)
	r1=$(rest 1 /replica) r2=$(rest 2 /replica)
	echo "h1 primary=$p1 replica=$r1; h2 primary=$p2 replica=$r2"
	{ [ "$p1" = 200 ] && [ "$r2" = 200 ]; } || { [ "$p2" = 200 ] && [ "$r1" = 200 ]; }
}
wait_for "one primary and one replica" 240 roles || fail "Patroni did not form"
if [ "$(rest 1 /primary)" = 200 ]; then PRI=1 REP=2; else PRI=2 REP=1; fi
ok "primary h$PRI, replica h$REP"

sql() { # I SQL: psql as the superuser against host I
	timeout -k 2 20 ip netns exec "$(host_ns "$1")" env PGPASSWORD="$PW_SU" \
		psql -h "$(host_ip "$1")" -p 5432 -U postgres -d postgres -Atqc "$2"
}
out=$(sql "$PRI" "CREATE TABLE zi (v text); INSERT INTO zi VALUES ('written-on-primary');" 2>&1) ||
	fail "writing on the primary failed: $out"
replicated() { [ "$(sql "$REP" 'SELECT v FROM zi' 2>&1)" = written-on-primary ]; }
wait_for "the row on the replica" 60 replicated || fail "the row did not replicate"
assert_eq "$(sql "$REP" 'SELECT pg_is_in_recovery()')" t "h$REP is in recovery (a replica)"
leader=$(ectl 1 get /service/pg/leader --print-value-only)
say "Patroni's leader key in zooinit's etcd: $leader"
[ -n "$leader" ] || fail "Patroni keeps no leader key in our etcd"
