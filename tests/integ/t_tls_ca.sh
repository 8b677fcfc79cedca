#!/bin/bash
# TLS from a CA alone: `zooinit ca init` makes the CA, the zone publishes
# _etcd-server-ssl._tcp, and each agent gets only ca_file and ca_key_file.
# Checked:
#   - a CA key that is not the CA's, an expired CA and a CA key readable
#     by others each stop the agent with one sentence and exit 100 before
#     etcd starts; an agent that cannot fork the process that makes its
#     certificates (a pids cgroup of one) exits 111;
#   - three agents form a cluster that etcdctl verifies against the CA
#     with a client certificate zooinit made; each member serves a
#     certificate naming its IP; keys are 0600 in a 0700 directory;
#   - with cert_lifetime 60 the served certificate is replaced (a new
#     serial) and the cluster stays healthy with the same etcd processes;
#   - zooinit status shows each member's certificate expiry;
#   - a service's hook gets ZOOINIT_ETCD_CA_FILE, _CERT_FILE and _KEY_FILE
#     and reaches etcd with them; h3's OnStart, run as nobody, is told of
#     copies it owns (0600), reaches etcd with them, and they are copied
#     again after the renewal.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit
# shellcheck source=lib_tls.sh
. "$(dirname "$0")/lib_tls.sh"

SSL=_etcd-server-ssl._tcp
CA=$WORK/ca

# served I: the certificate host I's etcd serves on its client port.
served() {
	timeout -k 2 10 ip netns exec "$(host_ns "$1")" openssl s_client \
		-connect "$(host_ip "$1"):2379" -CAfile "$CA/ca.crt" \
		-cert "$(tlsdir "$1")/client.crt" -key "$(tlsdir "$1")/client.key" \
		</dev/null 2>/dev/null | openssl x509 "${@:2}"
}
serial_changed() { # I OLD
	local s
	s=$(served "$1" -noout -serial 2>/dev/null) || return 1
	[ -n "$s" ] && [ "$s" != "$2" ]
}

net_up 3
"$ZOOINIT" ca init "$CA" >"$WORK/ca-init.out" 2>&1 || fail "zooinit ca init failed"
assert_eq "$(stat -c %a "$CA/ca.key") $(stat -c %a "$CA")" "600 700" \
	"ca.key is 0600 in a 0700 directory"
rc=0
"$ZOOINIT" ca init "$CA" >"$WORK/ca-again.out" 2>&1 || rc=$?
assert_eq "$rc" 100 "a second ca init into the same directory exits 100"
assert_contains "$WORK/ca-again.out" "exists already; zooinit ca init never overwrites a CA"

mapfile -t lines < <(zone_lines 3 "$SSL")
dns_zone "${lines[@]}"

# ---------------------------------------------------------------- errors

say "a wrong CA key, an expired CA, a CA key readable by others"
"$ZOOINIT" ca init "$WORK/ca2" >/dev/null 2>&1 || fail "second CA"
mkdir -p "$T"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/old.key" -out "$T/old.csr" -subj "/CN=old CA" \
	>>"$T/openssl.log" 2>&1 || fail "openssl: old CA request"
printf '%s\n' "basicConstraints = critical, CA:TRUE" \
	"keyUsage = critical, keyCertSign" >"$T/ca.ext"
openssl x509 -req -in "$T/old.csr" -signkey "$T/old.key" -days -1 \
	-extfile "$T/ca.ext" -out "$T/old.pem" >>"$T/openssl.log" 2>&1 ||
	fail "openssl: expired CA"
chmod 600 "$T/old.key"
cp "$CA/ca.key" "$T/open.key"
chmod 644 "$T/open.key"

check_refused() { # WHAT CA_FILE KEY_FILE MESSAGE
	rc=0
	run_agent 1 --size 3 --ca-file "$2" --ca-key-file "$3"
	agent_wait 1 30 || fail "$1: the agent did not exit"
	assert_eq "$AGENT_RC" 100 "$1: exit 100"
	assert_contains "$WORK/h1/agent.log" "$4"
	[ -z "$(etcd_pids 1)" ] || fail "$1: etcd was started"
}
check_refused "wrong CA key" "$CA/ca.crt" "$WORK/ca2/ca.key" \
	"ca_key_file $WORK/ca2/ca.key is not the key of the CA in ca_file $CA/ca.crt (their public keys differ)"
check_refused "expired CA" "$T/old.pem" "$T/old.key" \
	"the CA in ca_file $T/old.pem expired on"
check_refused "CA key mode 0644" "$CA/ca.crt" "$T/open.key" \
	"ca_key_file $T/open.key may be read by group or others (mode 0644)"

# fork() fails under a pids cgroup of one process: the agent (that one
# process) cannot start the child that makes its certificates.
say "no process can be forked to make the certificates"
if pids_cgroup 1; then
	# ip netns exec mounts its own /sys: the agent's shell joins the
	# cgroup through a descriptor opened here. An agent built with ASan
	# checks for leaks at its exit in a process it cannot fork here:
	# that check is off for this run.
	exec {cg}>"$ZI_CGROUP/cgroup.procs"
	AGENT_PREFIX=(bash -c "echo \$\$ >&$cg &&
		ASAN_OPTIONS=\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}detect_leaks=0 \\
		exec \"\$@\" $cg>&-" bash)
	run_agent 1 --size 3 --ca-file "$CA/ca.crt" --ca-key-file "$CA/ca.key"
	AGENT_PREFIX=()
	exec {cg}>&-
	agent_wait 1 30 || fail "no fork: the agent did not exit"
	assert_eq "$AGENT_RC" 111 "no fork: exit 111 (retry later)"
	assert_contains "$WORK/h1/agent.log" \
		"TLS: cannot make this member's certificates: cannot fork: Resource temporarily unavailable; start again later"
	[ -z "$(etcd_pids 1)" ] || fail "no fork: etcd was started"
else
	say "skipped: this machine has no pids cgroup controller"
fi
rm -rf "$WORK/h1/data.zooinit"

# ---------------------------------------------------------------- the cluster

# A service whose first hook asks etcd's /health with the files it is
# told about.
cat >"$WORK/hook.sh" <<'EOF'
#!/bin/sh
out=$1
printf 'ca=%s cert=%s key=%s\n' "$ZOOINIT_ETCD_CA_FILE" \
	"$ZOOINIT_ETCD_CERT_FILE" "$ZOOINIT_ETCD_KEY_FILE" >"$out.tmp"
curl -sS --max-time 5 --cacert "$ZOOINIT_ETCD_CA_FILE" \
	--cert "$ZOOINIT_ETCD_CERT_FILE" --key "$ZOOINIT_ETCD_KEY_FILE" \
	"https://$ZOOINIT_LOCAL_IP:2379/health" >>"$out.tmp" 2>&1
mv "$out.tmp" "$out"
EOF
chmod +x "$WORK/hook.sh"
# h3's service runs this as nobody (OnStart): it reaches etcd with the
# copies of the files it is told about, then stays up.
cat >"$WORK/start.sh" <<'EOF'
#!/bin/sh
out=$1
curl -sS --max-time 5 --cacert "$ZOOINIT_ETCD_CA_FILE" \
	--cert "$ZOOINIT_ETCD_CERT_FILE" --key "$ZOOINIT_ETCD_KEY_FILE" \
	"https://$ZOOINIT_LOCAL_IP:2379/health" >"$out.tmp" 2>&1
printf 'as %s: key=%s\n' "$(id -un)" "$ZOOINIT_ETCD_KEY_FILE" >>"$out.tmp"
mv "$out.tmp" "$out"
exec sleep 600
EOF
chmod +x "$WORK/start.sh"
# nobody must reach h3's service dir.
chmod 0755 "$WORK"

say "three agents with only the CA, cert_lifetime 60"
start=$SECONDS
for i in 1 2 3; do
	mkdir -p "$WORK/h$i"
	start= user=
	if [ "$i" = 3 ]; then
		chmod 0755 "$WORK/h3"
		start="OnStart = (\"$WORK/start.sh\", \"$WORK/h3/app/start.out\");"
		user='  user = "nobody"; health_interval = 1;'
	fi
	printf '%s\n' 'services = ("app");' 'service = { app = {' \
		'  backend = "custom"; size = 3;' "$user" \
		"  data_dir = \"$WORK/h$i/app\";" \
		"  hooks = { $start OnPreRegist = (\"$WORK/hook.sh\", \"$WORK/h$i/hook.out\"); };" \
		'}; };' >"$WORK/h$i/zooinit.conf"
	run_agent "$i" -f "$WORK/h$i/zooinit.conf" --size 3 --health-interval 1 \
		--ca-file "$CA/ca.crt" --ca-key-file "$CA/ca.key" --cert-lifetime 60
done
wait_for "3 voters that etcdctl verifies against the CA" 60 ca_healthy 3 ||
	fail "the cluster did not form over TLS from the CA"
ok "formed in $((SECONDS - start)) s"
for i in 1 2 3; do
	served "$i" -noout -text >"$WORK/h$i/served.txt" ||
		fail "h$i: no certificate served"
	assert_contains "$WORK/h$i/served.txt" "IP Address:$(host_ip "$i")"
	assert_contains "$WORK/h$i/served.txt" "DNS:h$i.$ZONE"
done
assert_eq "$(stat -c %a "$(tlsdir 1)") $(stat -c %a "$(tlsdir 1)/server.key") $(stat -c %a "$(tlsdir 1)/peer.key") $(stat -c %a "$(tlsdir 1)/client.key")" \
	"700 600 600 600" "the tls directory is 0700 and its keys 0600"
assert_not_contains "$WORK/h1/agent.log" "PRIVATE KEY"
etcd_argv_has 1 "--cert-file $(tlsdir 1)/server.crt" "--peer-cert-file $(tlsdir 1)/peer.crt" \
	"--trusted-ca-file $CA/ca.crt" "--peer-trusted-ca-file $CA/ca.crt" \
	"--client-cert-auth" "--peer-client-cert-auth"
cectl 1 put ca-key "made by the CA" >/dev/null || fail "put through h1"
assert_eq "$(cectl 3 get ca-key --print-value-only)" "made by the CA" \
	"a key put through h1 reads back through h3"

wait_for "h2's hook reached etcd with the files it was told about" 30 \
	test -s "$WORK/h2/hook.out" || fail "h2's hook did not run"
assert_contains "$WORK/h2/hook.out" "ca=$CA/ca.crt cert=$(tlsdir 2)/client.crt key=$(tlsdir 2)/client.key"
assert_contains "$WORK/h2/hook.out" '"health":"true"'
wait_for "h3's OnStart, as nobody, reached etcd with its copies" 30 \
	test -s "$WORK/h3/app/start.out" || fail "h3's OnStart did not run"
assert_contains "$WORK/h3/app/start.out" '"health":"true"'
assert_contains "$WORK/h3/app/start.out" "as nobody: key=$WORK/h3/app/etcd-client.key"
assert_eq "$(stat -c '%a %U' "$WORK/h3/app/etcd-client.key")" "600 nobody" \
	"h3's copy of the client key is 0600 and nobody's"

# ---------------------------------------------------------------- status

rc=0
timeout -k 5 30 ip netns exec "$(host_ns 2)" "$ZOOINIT" status \
	--data-dir "$WORK/h2/data" --ca-file "$CA/ca.crt" \
	--ca-key-file "$CA/ca.key" >"$WORK/h2/status.out" 2>&1 || rc=$?
assert_eq "$rc" 0 "zooinit status with the made client certificate exits 0"
assert_contains "$WORK/h2/status.out" "3 members (3 voters), leader"
assert_contains "$WORK/h2/status.out" "certificate"
sed 's/^/    /' "$WORK/h2/status.out"

# ---------------------------------------------------------------- renewal

say "renewal after two thirds of 60 s"
old=$(served 1 -noout -serial)
pids="$(etcd_pids 1) $(etcd_pids 2) $(etcd_pids 3)"
wait_for "h1 serves a certificate with a new serial" 60 serial_changed 1 "$old" ||
	fail "h1 still serves $old"
ok "h1: $old -> $(served 1 -noout -serial)"
wait_for "the cluster healthy after the renewal" 30 ca_healthy 3 ||
	fail "the cluster is unhealthy after the renewal"
assert_eq "$(etcd_pids 1) $(etcd_pids 2) $(etcd_pids 3)" "$pids" \
	"the same etcd processes serve the new certificates"
assert_eq "$(cectl 2 get ca-key --print-value-only)" "made by the CA" \
	"the key reads back after the renewal"
wait_for "h3's copy is the renewed client certificate" 30 \
	cmp -s "$WORK/h3/app/etcd-client.crt" "$(tlsdir 3)/client.crt" ||
	fail "h3's copy of the client certificate was not renewed"

# A clean stop after a renewal (a sanitized build reports leaks here).
agent_signal 1 TERM
agent_wait 1 30 || fail "h1 did not stop on SIGTERM"
assert_eq "$AGENT_RC" 0 "h1 stopped cleanly"
assert_not_contains "$WORK/h1/agent.log" "Sanitizer"
