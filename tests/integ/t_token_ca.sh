#!/bin/bash
# A discovery token and a CA, nothing else: h4 runs the discovery etcd
# (v3 layout, size 3); h1..h3 get --sources token and only ca_file and
# ca_key_file. Checked:
#   - they register https peer URLs and form a cluster that etcdctl
#     verifies against the CA with a certificate zooinit made;
#   - h5, the extra, runs etcd's grpc-proxy over TLS with certificates it
#     made: its server certificate names its address, it shows its client
#     certificate to the members, and a key put through h1 reads back
#     through it with the CA.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_disc.sh
. "$(dirname "$0")/lib_disc.sh"
need_zooinit
# shellcheck source=lib_tls.sh
. "$(dirname "$0")/lib_tls.sh"

DISC=4
TOK=catok
CA=$WORK/ca

net_up 5
"$ZOOINIT" ca init "$CA" >"$WORK/ca-init.out" 2>&1 || fail "zooinit ca init failed"
D=$(host_ip "$DISC")
disc_etcd_up "$DISC" "$TOK" 3
flags=(--sources token --discovery-endpoints "http://$D:2379"
	--discovery-token "$TOK" --health-interval 1
	--ca-file "$CA/ca.crt" --ca-key-file "$CA/ca.key")
for i in 1 2 3; do
	run_agent "$i" "${flags[@]}" --name "h$i"
done
wait_for "3 voters that etcdctl verifies against the CA" 60 ca_healthy 3 ||
	fail "the token cluster did not form over TLS"
regs=$(ectl "$DISC" get --prefix "/_etcd/registry/$TOK/members" --print-value-only |
	sed '/^$/d' | sort | tr '\n' ' ')
assert_eq "$regs" "h1=https://$NET.1:2380 h2=https://$NET.2:2380 h3=https://$NET.3:2380 " \
	"the token holds https peer URLs"
cectl 1 put ca-token "put through h1" >/dev/null || fail "put through h1"

run_agent 5 "${flags[@]}" --name h5
wait_for "h5 logs proxy healthy" 60 grep -qF "proxy healthy" "$WORK/h5/agent.log" ||
	fail "h5 did not become a healthy proxy"
etcd_argv_has 5 "grpc-proxy start" "--cert $(tlsdir 5)/client.crt" \
	"--key $(tlsdir 5)/client.key" "--cert-file $(tlsdir 5)/server.crt" \
	"--cacert $CA/ca.crt" "--trusted-ca-file $CA/ca.crt"
timeout -k 2 10 ip netns exec "$(host_ns 5)" openssl s_client \
	-connect "$(host_ip 5):2379" -CAfile "$CA/ca.crt" \
	-cert "$(tlsdir 5)/client.crt" -key "$(tlsdir 5)/client.key" \
	</dev/null 2>/dev/null | openssl x509 -noout -text >"$WORK/h5/served.txt" ||
	fail "h5's proxy serves no certificate"
assert_contains "$WORK/h5/served.txt" "IP Address:$(host_ip 5)"
assert_eq "$(cectl 5 get ca-token --print-value-only)" "put through h1" \
	"a key put through h1 reads back through h5's proxy over TLS"
