#!/bin/bash
# Two zooinit agents and one plain etcd (3.6+) on one v3 discovery token:
# host 4 runs a one-member discovery etcd holding
# /_etcd/registry/T/_config/size = 3; agents in h1 and h2 run with
# --discovery-endpoints and --discovery-token T, and h3 runs plain
# `etcd --discovery-token T --discovery-endpoints E` with no zooinit at
# all. They form ONE cluster: 3 voting members named h1 h2 h3 and one
# leader, the registry holds three entries under the member IDs the
# cluster has, and a key written through the plain member reads back
# through a zooinit member (and the other way round).
# Needs etcd 3.6+ (etcd's v3 discovery): ETCD36=PATH, an etcd 3.6+ first
# on PATH (run.sh ETCD=DIR), or one under /var/cache/zooinit/etcd/;
# otherwise the test is skipped. The same binary runs every etcd here.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_disc.sh
. "$(dirname "$0")/lib_disc.sh"
need_zooinit

# etcd_minor BIN: prints "MAJOR MINOR" of `BIN --version`.
etcd_minor() {
	"$1" --version 2>/dev/null |
		sed -n 's/^etcd Version: \([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p'
}
is_36() { # BIN: true for an executable etcd 3.6 or later
	local v
	[ -x "$1" ] || return 1
	v=$(etcd_minor "$1")
	[ -n "$v" ] && [ "${v% *}" -eq 3 ] && [ "${v#* }" -ge 6 ]
}
E36=
for cand in "${ETCD36:-}" "$(command -v etcd)" \
	/var/cache/zooinit/etcd/3.6.*/etcd /var/cache/zooinit/etcd/3.[7-9].*/etcd; do
	if [ -n "$cand" ] && is_36 "$cand"; then
		E36=$cand
		break
	fi
done
[ -n "$E36" ] || skip "no etcd 3.6+ (set ETCD36=PATH or build one into /var/cache/zooinit/etcd/)"
say "etcd under test: $E36 ($("$E36" --version | head -n 1))"

DISC=4
TOK=mixtok
net_up 4

D=$(host_ip "$DISC")
disc_etcd_up "$DISC" "$TOK" 3 "$E36"

for i in 1 2; do
	run_agent "$i" --sources token --discovery-endpoints "http://$D:2379" \
		--discovery-token "$TOK" --name "h$i" --health-interval 1 \
		--etcd "$E36"
done
# The plain member: etcd's own v3 discovery, nothing of zooinit.
H3=$(host_ip 3)
mkdir -p "$WORK/h3"
ip netns exec "$(host_ns 3)" "$E36" --name h3 --data-dir "$WORK/h3/data" \
	--listen-client-urls "http://$H3:2379" --advertise-client-urls "http://$H3:2379" \
	--listen-peer-urls "http://$H3:2380" --initial-advertise-peer-urls "http://$H3:2380" \
	--discovery-token "$TOK" --discovery-endpoints "http://$D:2379" \
	>"$WORK/h3/etcd.log" 2>&1 </dev/null &

wait_for "3 voting members and one leader" 120 cluster_healthy 3 ||
	fail "the cluster did not form"
for i in 1 2 3; do
	assert_eq "$(cluster_member_names "$i" | tr '\n' ' ')" "h1 h2 h3 " \
		"h$i sees members h1 h2 h3"
done

# One registration each, under the IDs the cluster gave its members.
disc_registry_is "$DISC" "$TOK" \
	"h1=http://$NET.1:2380 h2=http://$NET.2:2380 h3=http://$NET.3:2380 "

ectl 3 put mixed-key "hello from plain h3" >/dev/null ||
	fail "put through the plain member h3 failed"
assert_eq "$(ectl 1 get mixed-key --print-value-only)" "hello from plain h3" \
	"a key put through the plain member reads back through zooinit's h1"
ectl 2 put mixed-key2 "hello from h2" >/dev/null || fail "put through h2 failed"
assert_eq "$(ectl 3 get mixed-key2 --print-value-only)" "hello from h2" \
	"a key put through zooinit's h2 reads back through the plain member"
for i in 1 2; do
	assert_contains "$WORK/h$i/agent.log" "plan: 3 of 3 registered under token $TOK"
done
ok "two zooinit agents and a plain etcd formed one cluster on token $TOK"
