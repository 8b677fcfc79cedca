#!/bin/bash
# Three hosts, three agents with --size 3: they form one etcd cluster named
# after the SRV targets, with IP peer URLs, in the given data dirs; a key
# written through h1 reads back through h3; every agent logs that the
# cluster is healthy.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

net_up 3
zone_std 3
for i in 1 2 3; do
	run_agent "$i" --size 3 --health-interval 1
done

wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the cluster did not form"
assert_eq "$(cluster_members 1)" 3 "3 started voting members"
assert_eq "$(cluster_leader_count 1)" 1 "exactly one leader"
assert_eq "$(cluster_member_names 1 | tr '\n' ' ')" "h1 h2 h3 " \
	"members are named after the SRV targets"
ectl 1 member list >"$WORK/members.txt" || fail "member list failed"
for i in 1 2 3; do
	assert_contains "$WORK/members.txt" \
		"h$i, http://$(host_ip "$i"):2380, http://$(host_ip "$i"):2379, false"
	[ -d "$WORK/h$i/data/member" ] || fail "h$i: no member/ in the data dir"
done
ok "every member lives in its --data-dir"

ectl 1 put zl-key "hello from h1" >/dev/null || fail "put through h1 failed"
assert_eq "$(ectl 3 get zl-key --print-value-only)" "hello from h1" \
	"a key put through h1 reads back through h3"

for i in 1 2 3; do
	wait_for "h$i logs that the cluster is healthy" 30 \
		grep -qF "cluster healthy: 3 members, leader" "$WORK/h$i/agent.log" ||
		fail "h$i: no 'cluster healthy: 3 members, leader' in agent.log"
	assert_contains "$WORK/h$i/agent.log" "cluster healthy: 3 members, leader h"
done
