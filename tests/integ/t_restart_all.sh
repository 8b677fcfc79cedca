#!/bin/bash
# Stop all three agents, start them again on the same data dirs: the members
# restart (the cluster keeps its ID, the data survives) instead of
# bootstrapping a new cluster.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

net_up 3
zone_std 3
for i in 1 2 3; do
	run_agent "$i" --size 3 --stop-timeout 5
done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the cluster did not form"
id1=$(cluster_id 1) || fail "no cluster ID"
say "cluster ID $id1"
ectl 1 put zl-key survives-restart >/dev/null || fail "put through h1 failed"

for i in 1 2 3; do agent_signal "$i" TERM; done
for i in 1 2 3; do
	agent_wait "$i" 20 || fail "agent h$i still runs 20 s after SIGTERM"
	[ -z "$(etcd_pids "$i")" ] || fail "etcd still runs in h$i"
done
ok "all three agents stopped"

for i in 1 2 3; do
	run_agent "$i" --size 3 --stop-timeout 5
done
wait_for "3 voting members and one leader after the restart" 90 cluster_healthy 3 ||
	fail "the cluster did not come back"
id2=$(cluster_id 2) || fail "no cluster ID after the restart"
assert_eq "$id2" "$id1" "the same cluster ID after the restart"
assert_eq "$(ectl 3 get zl-key --print-value-only)" survives-restart \
	"the key reads back after the restart"
if grep -qiE 'existing|restart' "$WORK/h1/agent.log"; then
	say "h1's log mentions the restart: $(grep -iE -m1 'existing|restart' "$WORK/h1/agent.log")"
fi
