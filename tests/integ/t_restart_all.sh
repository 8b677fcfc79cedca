#!/bin/bash
# Stop all three agents, start them again on the same data dirs: the members
# restart (the cluster keeps its ID, the data survives) instead of
# bootstrapping a new cluster. h3 restarts with its journal where zooinit
# before 0.3 kept it (inside etcd's data dir): it is moved beside the data
# dir and used, and etcd never sees a foreign file in its data dir.
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
	[ -f "$WORK/h$i/data.zooinit/journal.json" ] ||
		fail "h$i: no journal in $WORK/h$i/data.zooinit"
done
mv "$WORK/h3/data.zooinit/journal.json" "$WORK/h3/data/zooinit.json"

for i in 1 2 3; do
	run_agent "$i" --size 3 --stop-timeout 5
done
wait_for "3 voting members and one leader after the restart" 90 cluster_healthy 3 ||
	fail "the cluster did not come back"
id2=$(cluster_id 2) || fail "no cluster ID after the restart"
assert_eq "$id2" "$id1" "the same cluster ID after the restart"
assert_eq "$(ectl 3 get zl-key --print-value-only)" survives-restart \
	"the key reads back after the restart"
assert_contains "$WORK/h3/agent.log" "journal found: restarting member h3"
[ -f "$WORK/h3/data.zooinit/journal.json" ] && [ ! -e "$WORK/h3/data/zooinit.json" ] ||
	fail "h3's old journal was not moved out of the data dir"
ok "h3's journal moved from the data dir to data.zooinit/"
for i in 1 2 3; do
	assert_eq "$(ls "$WORK/h$i/data")" member "h$i's data dir holds only etcd's member/"
	for log in "$WORK/h$i"/agent.log*; do
		assert_not_contains "$log" "invalid file/dir"
	done
done
if grep -qiE 'existing|restart' "$WORK/h1/agent.log"; then
	say "h1's log mentions the restart: $(grep -iE -m1 'existing|restart' "$WORK/h1/agent.log")"
fi
