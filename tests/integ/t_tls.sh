#!/bin/bash
# TLS: the zone publishes its members under _etcd-server-ssl._tcp, so
# every URL is https. A throwaway CA made here with the openssl program
# signs one certificate per host (subjectAltName IP:10.99.0.I, serverAuth
# and clientAuth). Checked:
#   - without certificates the agent refuses the zone (exit 100, one
#     sentence), and a certificate path that does not exist is named;
#   - three agents with client_cert_auth on form a cluster: 3 voting
#     members, one leader, https URLs, a key put through h1 reads back
#     through h3, every agent logs "cluster healthy", etcd refuses a
#     client without a certificate, `zooinit status` answers over TLS, and
#     an agent restarted from its journal gets its certificates again;
#   - `zooinit status` given another CA refuses the members even when the
#     system's CA directory (/etc/ssl/certs, in a mount namespace of the
#     test's own) holds the CA that signed them;
#   - with client_cert_auth off (h4, a cluster of one) a client with only
#     the CA is served;
#   - a certificate that names another address (h5) makes the agent's
#     health check fail verification, and it never claims health.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit
# shellcheck source=lib_tls.sh
. "$(dirname "$0")/lib_tls.sh"

SSL=_etcd-server-ssl._tcp

# ---------------------------------------------------------------- certificates

# The TLS flags of host I, with certificate NAME (default hI).
tls_flags() { # I [NAME]
	local name=${2:-h$1}
	printf '%s\n' --cert-file "$T/$name.pem" --key-file "$T/$name.key" \
		--trusted-ca-file "$T/ca.pem"
}

# ---------------------------------------------------------------- etcdctl

# tectl I ARGS...: etcdctl over https against host I's member, with the CA
# and host I's certificate, bounded to 15 s.
tectl() {
	local i=$1
	shift
	timeout -k 2 15 ip netns exec "$(host_ns "$i")" env ETCDCTL_API=3 \
		etcdctl --endpoints "https://$(host_ip "$i"):2379" \
		--cacert "$T/ca.pem" --cert "$T/h$i.pem" --key "$T/h$i.key" \
		--dial-timeout=2s --command-timeout=5s "$@"
}
tls_members() { # I: started voting members host I's member knows
	tectl "$1" member list | grep -c ', started, .*, false$'
}
tls_leaders() {
	tectl 1 endpoint status --cluster -w fields | leader_endpoints | wc -l
}
tls_cluster_healthy() { # N
	local n=$1 i m
	for ((i = 1; i <= n; i++)); do
		m=$(tls_members "$i")
		[ "$m" = "$n" ] || {
			echo "h$i: $m started voting members"
			return 1
		}
		tectl "$i" endpoint health || return 1
	done
	m=$(tls_leaders)
	echo "leaders: $m"
	[ "$m" = 1 ]
}

# ---------------------------------------------------------------- setup

net_up 5
make_ca
for i in 1 2 3 4; do make_cert "h$i" "$(host_ip "$i")"; done
# h5's certificate names an address that is not h5's.
make_cert h5-wrong 10.99.0.77
openssl x509 -in "$T/h1.pem" -noout -ext subjectAltName,extendedKeyUsage \
	>"$T/h1.txt" 2>&1
assert_contains "$T/h1.txt" "IP Address:10.99.0.1"
assert_contains "$T/h1.txt" "TLS Web Client Authentication"

# h1..h3 in zl.test; h4 alone in solo.zl.test; h5 alone in bad.zl.test.
mapfile -t lines < <(zone_lines 3 "$SSL")
lines+=("srv-host=$SSL.solo.$ZONE,h4.$ZONE,2380,0,10"
	"host-record=h4.$ZONE,$(host_ip 4)"
	"srv-host=$SSL.bad.$ZONE,h5.$ZONE,2380,0,10"
	"host-record=h5.$ZONE,$(host_ip 5)")
dns_zone "${lines[@]}"

# ---------------------------------------------------------------- no certificates

say "an https zone without certificates"
run_agent 1 --size 3
agent_wait 1 30 || fail "h1 without certificates did not exit"
assert_eq "$AGENT_RC" 100 "h1 without certificates exits 100"
assert_contains "$WORK/h1/agent.log" "$SSL.$ZONE asks for https peers; set cert_file and key_file (and trusted_ca_file) to give etcd its certificates"
[ -z "$(etcd_pids 1)" ] || fail "h1 started etcd without certificates"
ok "no etcd was started"

# A certificate that is not there is named with its key, before etcd runs.
rc=0
run_plan 1 --size 3 --cert-file "$T/nope.pem" --key-file "$T/h1.key" || rc=$?
assert_eq "$rc" 100 "plan with a missing cert_file exits 100"
assert_contains "$WORK/h1/plan.log" "cert_file is set to \"$T/nope.pem\", which cannot be read: No such file or directory"

# ---------------------------------------------------------------- the cluster

say "three agents with certificates and client_cert_auth on"
for i in 1 2 3; do
	mapfile -t tf < <(tls_flags "$i")
	run_agent "$i" --size 3 --health-interval 1 "${tf[@]}" \
		--client-cert-auth on
done
# h4: client_cert_auth off, a cluster of one in its own domain.
mapfile -t tf < <(tls_flags 4)
run_agent 4 --domain "solo.$ZONE" --size 1 --health-interval 1 "${tf[@]}"
# h5: a certificate for 10.99.0.77 on 10.99.0.5.
mapfile -t tf < <(tls_flags 5 h5-wrong)
run_agent 5 --domain "bad.$ZONE" --size 1 --health-interval 1 "${tf[@]}"

wait_for "3 voting members and one leader over https" 90 \
	tls_cluster_healthy 3 || fail "the TLS cluster did not form"
assert_eq "$(tls_members 1)" 3 "3 started voting members"
assert_eq "$(tls_leaders)" 1 "exactly one leader"
tectl 1 member list >"$WORK/members.txt" || fail "member list failed"
for i in 1 2 3; do
	assert_contains "$WORK/members.txt" \
		"h$i, https://$(host_ip "$i"):2380, https://$(host_ip "$i"):2379, false"
done
etcd_argv_has 1 "--cert-file $T/h1.pem" "--key-file $T/h1.key" \
	"--trusted-ca-file $T/ca.pem" "--peer-cert-file $T/h1.pem" \
	"--peer-key-file $T/h1.key" "--peer-trusted-ca-file $T/ca.pem" \
	"--client-cert-auth" "--peer-client-cert-auth"

tectl 1 put tls-key "hello over https from h1" >/dev/null || fail "put through h1 failed"
assert_eq "$(tectl 3 get tls-key --print-value-only)" "hello over https from h1" \
	"a key put through h1 reads back through h3"

for i in 1 2 3; do
	wait_for "h$i logs that the cluster is healthy" 30 \
		grep -qF "cluster healthy: 3 members, leader" "$WORK/h$i/agent.log" ||
		fail "h$i: no 'cluster healthy: 3 members, leader' in agent.log"
done
ok "every agent checked the cluster over https"

# client_cert_auth on: a client with only the CA is turned away.
if timeout -k 2 15 ip netns exec "$(host_ns 2)" env ETCDCTL_API=3 etcdctl \
	--endpoints "https://$(host_ip 2):2379" --cacert "$T/ca.pem" \
	--dial-timeout=2s --command-timeout=3s get tls-key \
	>"$WORK/nocert.out" 2>&1; then
	fail "etcd served a client without a certificate"
fi
assert_contains "$WORK/h2/agent.log" "tls: client didn't provide a certificate"
ok "etcd refuses a client without a certificate"

# zooinit status over TLS, its endpoint from h2's journal.
rc=0
mapfile -t tf < <(tls_flags 2)
timeout -k 5 30 ip netns exec "$(host_ns 2)" "$ZOOINIT" status \
	--data-dir "$WORK/h2/data" "${tf[@]}" --client-cert-auth on \
	>"$WORK/h2/status.out" 2>&1 || rc=$?
assert_eq "$rc" 0 "zooinit status over https exits 0"
assert_contains "$WORK/h2/status.out" "3 members (3 voters), leader"

# The system's CAs: a mount namespace whose /etc/ssl/certs (the directory
# of CAs Debian's libcurl was built with) holds the test CA, as if a public
# CA had signed the members' certificates, and zooinit given another CA.
make_ca other-ca
mkdir -p "$T/syscerts"
cp "$T/ca.pem" "$T/syscerts/test-ca.pem"
openssl rehash "$T/syscerts" >>"$T/openssl.log" 2>&1 || fail "openssl rehash failed"
in_syscerts() { # COMMAND...: in host h2, that directory mounted
	in_host 2 timeout -k 5 30 unshare --mount --propagation private \
		sh -c 'mount --bind "$1" /etc/ssl/certs && shift && exec "$@"' \
		sh "$T/syscerts" "$@"
}
# The premise: a client that also looks in that directory trusts h2.
in_syscerts curl -sS --capath /etc/ssl/certs --cacert "$T/other-ca.pem" \
	--cert "$T/h2.pem" --key "$T/h2.key" "https://$(host_ip 2):2379/health" \
	>"$WORK/syscerts-curl.out" 2>&1 ||
	fail "curl with the mounted directory did not trust h2 (see syscerts-curl.out)"
assert_contains "$WORK/syscerts-curl.out" '"health":"true"'
rc=0
in_syscerts "$ZOOINIT" status --data-dir "$WORK/h2/data" --cert-file "$T/h2.pem" \
	--key-file "$T/h2.key" --trusted-ca-file "$T/other-ca.pem" \
	--client-cert-auth on >"$WORK/h2/status-other-ca.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "zooinit status trusted members its trusted_ca_file does not vouch for"
assert_contains "$WORK/h2/status-other-ca.out" \
	"https://$(host_ip 2):2379: SSL certificate problem: unable to get local issuer certificate"
ok "zooinit trusts its trusted_ca_file alone, not the system's CAs (status exit $rc)"

# A restart comes from the journal and gets its certificates again.
agent_signal 3 TERM
agent_wait 3 30 || fail "h3 did not stop on SIGTERM"
assert_eq "$AGENT_RC" 0 "h3 stopped cleanly"
mapfile -t tf < <(tls_flags 3)
run_agent 3 --size 3 --health-interval 1 "${tf[@]}" --client-cert-auth on
wait_for "restarted h3 logs that the cluster is healthy" 60 \
	grep -qF "cluster healthy: 3 members, leader" "$WORK/h3/agent.log" ||
	fail "restarted h3 did not report a healthy cluster"
assert_contains "$WORK/h3/agent.log" "journal found: restarting member h3"
assert_eq "$(tectl 3 get tls-key --print-value-only)" "hello over https from h1" \
	"the key reads back through the restarted h3"

# ---------------------------------------------------------------- client_cert_auth off

wait_for "h4 (client_cert_auth off) logs a healthy cluster of one" 60 \
	grep -qF "cluster healthy: 1 members, leader h4" "$WORK/h4/agent.log" ||
	fail "h4: no healthy cluster"
rc=0
timeout -k 2 15 ip netns exec "$(host_ns 4)" env ETCDCTL_API=3 etcdctl \
	--endpoints "https://$(host_ip 4):2379" --cacert "$T/ca.pem" \
	--dial-timeout=2s --command-timeout=5s put solo-key v \
	>"$WORK/h4/put.out" 2>&1 || rc=$?
assert_eq "$rc" 0 "with client_cert_auth off a client with only the CA is served"

# ---------------------------------------------------------------- wrong subjectAltName

wait_for "h5 reports a TLS verification error" 60 \
	grep -qE "waiting for etcd to become healthy: .*(no alternative certificate subject name matches|certificate verify failed)" \
	"$WORK/h5/agent.log" || fail "h5 logged no TLS verification error"
grep -m1 "waiting for etcd to become healthy" "$WORK/h5/agent.log" | sed 's/^/    h5: /'
[ -n "$(etcd_pids 5)" ] || fail "h5's etcd is not running (the check should be what fails)"
agent_alive 5 || fail "h5's agent exited"
assert_not_contains "$WORK/h5/agent.log" "cluster healthy"
