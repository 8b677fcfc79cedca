#!/bin/bash
# A new cluster's first start through the agents' own discovery service
# (agent/localdisc.h): with etcd 3.4 to 3.6 every member starts its etcd at
# once with --discovery http://127.0.0.1:2378/TOKEN, served by its own
# agent, instead of in etcd's order. Here h3's port 2378 is taken by
# something else, so h3 starts in turn with the static member map and the
# same URL as its token; the three form one cluster (the member IDs
# agree). etcd 3.7 has no v2 discovery: every member starts in turn. Once
# healthy the agents stop serving, and an etcd killed then restarts from
# its data with the static flags.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

net_up 3
zone_std 3
hold_port 3 127.0.0.1 2378
for i in 1 2 3; do
	run_agent "$i" --size 3 --health-interval 1
done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the cluster did not form"
assert_eq "$(cluster_members 1)" 3 "3 started voting members"
assert_eq "$(cluster_leader_count 1)" 1 "exactly one leader"

url="http://127.0.0.1:2378/zooinit-etcd-$ZONE"
etcd=$(command -v etcd)
if grep -qa "api/v2discovery.JoinCluster" "$etcd"; then
	for i in 1 2; do
		assert_contains "$WORK/h$i/agent.log" "this member starts at once: its etcd learns the 3 members from this host's discovery service at $url"
		etcd_argv_has "$i" "--discovery $url"
	done
	assert_contains "$WORK/h3/agent.log" "cannot serve etcd's discovery on this host (cannot listen on 127.0.0.1 port 2378: Address already in use): this member starts in turn"
	ok "h1 and h2 started through discovery, h3 in turn"
else
	for i in 1 2 3; do
		assert_contains "$WORK/h$i/agent.log" "has no v2 discovery (etcd 3.7+): this member starts in turn"
	done
fi
etcd_argv_has 3 "--initial-cluster-token $url"

# Served only until the cluster is healthy.
for i in 1 2; do
	wait_for "h$i no longer serves discovery" 20 bash -c \
		"! ip netns exec $(host_ns "$i") curl -s -m 2 -o /dev/null http://127.0.0.1:2378/" ||
		fail "h$i still serves discovery on 127.0.0.1:2378"
done

ectl 1 put ld-key "written before the kill" >/dev/null || fail "put failed"
old=$(etcd_pids 1 | head -n 1)
new_etcd() {
	local p
	p=$(etcd_pids 1 | head -n 1)
	[ -n "$p" ] && [ "$p" != "$old" ]
}
key_back() {
	[ "$(ectl 1 get ld-key --print-value-only 2>/dev/null)" = "written before the kill" ]
}
kill -9 "$old"
wait_for "h1's etcd is restarted" 30 new_etcd || fail "h1's etcd was not restarted"
wait_for "the key reads back through h1" 60 key_back || fail "h1 lost the key"
etcd_argv_has 1 "--initial-cluster-token $url"
ok "restarted from its data with the static flags"
