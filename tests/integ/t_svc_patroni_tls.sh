#!/bin/bash
# Patroni over TLS from a CA alone: the zone publishes _etcd-server-ssl,
# the agents get only ca_file and ca_key_file (cert_lifetime 60), and h1
# and h2 run the service "pg" (patroni, as the user postgres). Checked:
#   - patroni.yml's etcd3 section says https and names the copies of the
#     CA, client certificate and key in the service's data dir, 0600 and
#     postgres's (root's tls/client.key is 0600 and root's);
#   - Patroni forms (a primary, a replica) with its leader key in etcd;
#   - after the renewal the copy is the new client certificate, postgres
#     reaches etcd with the copies, and Patroni keeps its roles.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit
# shellcheck source=lib_tls.sh
. "$(dirname "$0")/lib_tls.sh"
# shellcheck source=lib_pg.sh
. "$(dirname "$0")/lib_pg.sh"

need_patroni

CA=$WORK/ca

net_up 3
"$ZOOINIT" ca init "$CA" >"$WORK/ca-init.out" 2>&1 || fail "zooinit ca init failed"
mapfile -t lines < <(zone_lines 3 _etcd-server-ssl._tcp)
dns_zone "${lines[@]}"
PW_SU=su-secret
pg_confs "$PW_SU"
for i in 1 2 3; do
	run_agent "$i" -f "$WORK/h$i/zooinit.conf" --size 3 \
		--ca-file "$CA/ca.crt" --ca-key-file "$CA/ca.key" --cert-lifetime 60
done
wait_for "3 members that etcdctl verifies against the CA" 60 ca_healthy 3 ||
	fail "the etcd cluster did not form over TLS"

wait_for "one primary and one replica" 240 pg_roles || fail "Patroni did not form over TLS"
if [ "$(pg_rest 1 /primary)" = 200 ]; then PRI=1 REP=2; else PRI=2 REP=1; fi
ok "primary h$PRI, replica h$REP"

PG=$WORK/h1/pg
assert_contains "$PG/patroni.yml" 'protocol: "https"'
assert_contains "$PG/patroni.yml" "cacert: \"$PG/etcd-ca.crt\""
assert_contains "$PG/patroni.yml" "cert: \"$PG/etcd-client.crt\""
assert_contains "$PG/patroni.yml" "key: \"$PG/etcd-client.key\""
assert_eq "$(stat -c '%a %U' "$PG/etcd-ca.crt" "$PG/etcd-client.crt" "$PG/etcd-client.key" | tr '\n' ' ')" \
	"600 postgres 600 postgres 600 postgres " "the copies are 0600 and postgres's"
assert_eq "$(stat -c '%a %U' "$(tlsdir 1)/client.key")" "600 root" \
	"the agent's own client key stays 0600 and root's"
cmp -s "$PG/etcd-client.key" "$(tlsdir 1)/client.key" || fail "the key copy differs"
leader=$(cectl 1 get /service/pg/leader --print-value-only)
[ -n "$leader" ] || fail "Patroni keeps no leader key in our etcd"
ok "Patroni's leader key over TLS: $leader"

say "renewal after two thirds of 60 s"
serial() { openssl x509 -noout -serial -in "$1" 2>/dev/null; }
old=$(serial "$PG/etcd-client.crt")
renewed() {
	local s
	s=$(serial "$PG/etcd-client.crt")
	[ -n "$s" ] && [ "$s" != "$old" ] &&
		cmp -s "$PG/etcd-client.crt" "$(tlsdir 1)/client.crt"
}
wait_for "h1's copy is the renewed client certificate" 60 renewed ||
	fail "h1's copy still has $old"
assert_contains "$WORK/h1/agent.log" "service pg: copied 1 renewed etcd TLS file to $PG for user postgres"
# What Patroni does on its next connection (urllib3 loads the files for
# each): postgres reaches etcd with the renewed copies.
out=$(timeout -k 2 10 ip netns exec "$(host_ns 1)" runuser -u postgres -- \
	curl -sS --max-time 5 --cacert "$PG/etcd-ca.crt" \
	--cert "$PG/etcd-client.crt" --key "$PG/etcd-client.key" \
	"https://$(host_ip 1):2379/health" 2>&1)
case $out in *'"health":"true"'*) ok "postgres reaches etcd with the renewed copies" ;;
*) fail "postgres could not reach etcd with the copies: $out" ;; esac
assert_eq "$(cectl 1 get /service/pg/leader --print-value-only)" "$leader" \
	"Patroni's leader key holds after the renewal"
pg_roles >/dev/null || fail "Patroni lost its roles after the renewal"
