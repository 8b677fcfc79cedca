#!/bin/bash
# Patroni with Debian's PostgreSQL 15 on two hosts through the patroni
# backend: h1..h3 bootstrap etcd, h1 and h2 also run the service "pg"
# (size 2, as the user postgres); Patroni uses that etcd as its etcd3 DCS;
# one host is the primary and the other a streaming replica (Patroni's
# REST API), and a row written on the primary is read on the replica.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_pg.sh
. "$(dirname "$0")/lib_pg.sh"
need_zooinit

need_patroni

net_up 3
zone_std 3
PW_SU=su-secret
pg_confs "$PW_SU"
for i in 1 2 3; do
	run_agent "$i" -f "$WORK/h$i/zooinit.conf" --size 3
done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the etcd cluster did not form"

wait_for "one primary and one replica" 240 pg_roles || fail "Patroni did not form"
if [ "$(pg_rest 1 /primary)" = 200 ]; then PRI=1 REP=2; else PRI=2 REP=1; fi
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
