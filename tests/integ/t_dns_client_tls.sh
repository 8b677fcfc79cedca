#!/bin/bash
# A client of an https zone: the zone publishes h1..h3 under
# _etcd-server-ssl._tcp; h1..h4 run the same `zooinit bootstrap` with
# their certificates (a throwaway CA made here). h1..h3 form 3 voting
# members; h4, not among the targets, runs etcd's grpc-proxy with TLS on
# both sides: it verifies the members against the CA and serves https
# with its own certificate. A key put over https through h4 (etcdctl
# trusting only the CA) reads back through h1, and plain http at h4 is
# refused. etcd's grpc-proxy refuses to show the members a certificate
# with a Common Name: plan says so for h4 with such a certificate.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit
# shellcheck source=lib_tls.sh
. "$(dirname "$0")/lib_tls.sh"

SSL=_etcd-server-ssl._tcp

tectl() { # I ARGS...: etcdctl over https at host I, trusting the CA
	local i=$1
	shift
	timeout -k 2 15 ip netns exec "$(host_ns "$i")" env ETCDCTL_API=3 \
		etcdctl --endpoints "https://$(host_ip "$i"):2379" \
		--cacert "$T/ca.pem" --dial-timeout=2s --command-timeout=5s "$@"
}
tls_formed() {
	local i m
	for i in 1 2 3; do
		m=$(tectl "$i" member list | grep -c ', started, .*, false$')
		[ "$m" = 3 ] || {
			echo "h$i: $m started voting members"
			return 1
		}
	done
}
client_serves() { # a put and a quorum get over https through h4
	tectl 4 put via4 four >/dev/null &&
		[ "$(tectl 4 get --consistency=l via4 --print-value-only)" = four ]
}

net_up 4
make_ca
for i in 1 2 3; do make_cert "h$i" "$(host_ip "$i")"; done
# etcd's grpc-proxy shows its certificate to the members and refuses one
# with a Common Name: h4's names its address only (h4-cn has a CN).
make_cert h4 "$(host_ip 4)" "/O=zooinit test"
make_cert h4-cn "$(host_ip 4)"
mapfile -t lines < <(zone_lines 3 "$SSL")
dns_zone "${lines[@]}"

rc=0
run_plan 4 --size 3 --cert-file "$T/h4-cn.pem" --key-file "$T/h4-cn.key" \
	--trusted-ca-file "$T/ca.pem" || rc=$?
assert_eq "$rc" 100 "plan with a certificate that has a CN exits 100 on the client h4"
assert_contains "$WORK/h4/plan.log" "this host runs etcd's grpc-proxy, which shows cert_file $T/h4-cn.pem to the members and refuses a certificate whose subject has a Common Name (CN)"

for i in 1 2 3 4; do
	run_agent "$i" --size 3 --health-interval 1 --stop-timeout 5 \
		--cert-file "$T/h$i.pem" --key-file "$T/h$i.key" \
		--trusted-ca-file "$T/ca.pem"
done
wait_for "3 voting members over https" 90 tls_formed || fail "the cluster did not form"
log=$WORK/h4/agent.log
wait_for "h4 logs 'proxy healthy'" 60 \
	grep -qF "proxy healthy: serving clients for the cluster of 3" "$log" ||
	fail "h4 did not log 'proxy healthy'"
assert_contains "$log" "plan: 3 members from $SSL.$ZONE; this host is a client"
assert_contains "$log" "starting etcd grpc-proxy as"
assert_contains "$log" "on https://$(host_ip 4):2379"
wait_for "h4 serves a put and a quorum get over https" 30 client_serves ||
	fail "etcdctl over https through h4 failed"
assert_eq "$(tectl 1 get via4 --print-value-only)" four "a key put through client h4 reads back through member h1"
if ectl 4 get via4 >/dev/null 2>&1; then
	fail "h4's proxy answered plain http"
fi
ok "h4's proxy serves https only"
c=$(tr '\0' ' ' <"/proc/$(etcd_pids 4 | head -n 1)/cmdline")
[[ $c == *"--endpoints https://$(host_ip 1):2379,https://$(host_ip 2):2379,https://$(host_ip 3):2379"* ]] ||
	fail "h4's proxy argv: $c"
ok "h4's proxy reaches the members over https"
