#!/bin/bash
# A second etcd for applications through the etcd backend: h1..h3
# bootstrap the coordinating etcd and then the service "apps" (ports
# 22379/22380, its own token); it is healthy with 3 voting members; a key
# written to it survives a restart of the whole service (all three agents
# stopped and started again), which keeps every node's id.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

net_up 3
zone_std 3

for i in 1 2 3; do
	mkdir -p "$WORK/h$i"
	cat >"$WORK/h$i/zooinit.conf" <<EOF
services = ("apps");
service = {
  apps = {
    backend = "etcd";
    size = 3;
    data_dir = "$WORK/h$i/apps";
    health_interval = 2;
  };
};
EOF
done
start_all() {
	for i in 1 2 3; do
		run_agent "$i" -f "$WORK/h$i/zooinit.conf" --size 3
	done
}
start_all
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the coordinating etcd did not form"

# actl I ARGS...: etcdctl against host I's member of the second etcd.
actl() {
	local i=$1
	shift
	timeout -k 2 15 ip netns exec "$(host_ns "$i")" env ETCDCTL_API=3 \
		etcdctl --endpoints "http://$(host_ip "$i"):22379" \
		--dial-timeout=2s --command-timeout=5s "$@"
}
apps_healthy() {
	local i n
	for i in 1 2 3; do
		n=$(actl "$i" member list | grep -c ', started, n[0-9]*, ')
		echo "h$i: $n started members"
		[ "$n" = 3 ] || return 1
		actl "$i" endpoint health || return 1
	done
}
wait_for "the second etcd: 3 members, healthy" 120 apps_healthy ||
	fail "the second etcd did not form"
actl 1 member list
[ "$(actl 1 endpoint status --cluster -w fields | leader_endpoints | wc -l)" = 1 ] ||
	fail "the second etcd has no single leader"
ok "the second etcd has one leader"
ectl 1 member list | grep -q 22379 && fail "the two etcds are one cluster"
actl 1 put app-key written-before >/dev/null || fail "put to the second etcd failed"

ids_now() {
	local i
	for i in 1 2 3; do
		ectl 1 get "/zooinit/services/apps/ids/$(host_ip "$i")" --print-value-only
	done | tr '\n' ' '
}
ids=$(ids_now)
say "ids: $ids"

# The whole service (and its agents) restarted: the same ids, the data kept.
for i in 1 2 3; do
	agent_signal "$i" TERM
done
for i in 1 2 3; do
	agent_wait "$i" 60 || fail "h$i's agent did not stop"
	assert_eq "$AGENT_RC" 0 "h$i's agent exited 0"
done
start_all
wait_for "3 voting members and one leader again" 90 cluster_healthy 3 ||
	fail "the coordinating etcd did not come back"
wait_for "the second etcd healthy again" 120 apps_healthy ||
	fail "the second etcd did not come back"
assert_eq "$(ids_now)" "$ids" "every node kept its id"
assert_eq "$(actl 2 get app-key --print-value-only)" written-before \
	"the key written before the restart reads back"
for i in 1 2 3; do
	assert_contains "$WORK/h$i/agent.log" "(rejoining: no wait)"
done
