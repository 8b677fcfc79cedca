#!/bin/bash
# restore_from: a 3-member DNS cluster gets keys and a snapshot
# (etcdctl snapshot save), then everything stops. Three fresh hosts (empty
# data dirs, no journal, another token) started with --restore-from FILE
# through DNS form a cluster of 3 voters with a leader under a new cluster
# ID, holding the old keys. A restarted agent does not restore again (it
# says so) and keeps a key written after the restore. A damaged snapshot
# stops the agent with exit 100 before etcd starts and leaves the data
# dir without member data; a missing one fails zooinit plan the same way.
# Last, the static source restores too.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

SNAP=$WORK/backup/snap.db
fresh() { # I: a new host: no data dir, no journal, no old log
	rm -rf "$WORK/h$1/data" "$WORK/h$1/data.zooinit" "$WORK/h$1/data.restore"
	_rotate "$WORK/h$1/agent.log"
}
stop_all() {
	local i
	for i in 1 2 3; do agent_signal "$i" TERM; done
	for i in 1 2 3; do
		agent_wait "$i" 20 || fail "agent h$i still runs 20 s after SIGTERM"
		[ "$AGENT_RC" = 0 ] || fail "agent h$i exited with $AGENT_RC after SIGTERM"
	done
}

net_up 3
zone_std 3
for i in 1 2 3; do run_agent "$i" --size 3 --health-interval 1; done
wait_for "the first cluster: 3 voting members and one leader" 90 \
	cluster_healthy 3 || fail "the first cluster did not form"
old_id=$(cluster_id 1) || fail "no cluster ID"
for k in 1 2 3; do
	ectl 1 put "old-$k" "value $k" >/dev/null || fail "put old-$k failed"
done
mkdir -p "$WORK/backup"
ectl 2 snapshot save "$SNAP" >"$WORK/backup/save.log" 2>&1 ||
	fail "etcdctl snapshot save failed: $(tail -n 3 "$WORK/backup/save.log")"
stop_all
ok "the first cluster ($old_id) saved to a snapshot and stopped"

# zooinit plan says it would restore, and with what.
fresh 1
run_plan 1 --size 3 --token zl-restored --restore-from "$SNAP" --json ||
	fail "zooinit plan --restore-from exited with $?"
assert_contains "$WORK/h1/plan.log" "\"restore_from\": \"$SNAP\""
assert_contains "$WORK/h1/plan.log" "\"snapshot\","
[ ! -e "$WORK/h1/data/member" ] || fail "zooinit plan restored"
ok "zooinit plan shows the restore and does none"

for i in 1 2 3; do
	fresh "$i"
	run_agent "$i" --size 3 --health-interval 1 --token zl-restored \
		--restore-from "$SNAP"
done
wait_for "the restored cluster: 3 voting members and one leader" 90 \
	cluster_healthy 3 || fail "the restored cluster did not form"
new_id=$(cluster_id 3) || fail "no cluster ID"
[ "$new_id" != "$old_id" ] || fail "the restored cluster kept ID $old_id"
ok "a new cluster ID: $new_id (was $old_id)"
for k in 1 2 3; do
	assert_eq "$(ectl "$k" get "old-$k" --print-value-only)" "value $k" \
		"old-$k reads back through h$k"
done
# The tool beside etcd: etcdutl (3.5+), else etcdctl (3.4).
etcd_dir=$(dirname "$(command -v etcd)")
tool=$etcd_dir/etcdctl
[ -x "$etcd_dir/etcdutl" ] && tool=$etcd_dir/etcdutl
for i in 1 2 3; do
	assert_contains "$WORK/h$i/agent.log" "restoring snapshot $SNAP as member h$i of a new cluster of 3 (token http://127.0.0.1:2378/zl-restored) with $tool,"
	assert_contains "$WORK/h$i/agent.log" "snapshot $SNAP restored into $WORK/h$i/data"
	[ ! -e "$WORK/h$i/data.restore" ] || fail "h$i: data.restore left behind"
done

# A restart keeps its data: no second restore.
ectl 1 put after-restore kept >/dev/null || fail "put after the restore failed"
agent_signal 2 TERM
agent_wait 2 20 || fail "agent h2 still runs 20 s after SIGTERM"
assert_eq "$AGENT_RC" 0 "h2 stopped with exit 0"
run_agent 2 --size 3 --health-interval 1 --token zl-restored --restore-from "$SNAP"
wait_for "h2 back in the cluster" 60 cluster_healthy 3 || fail "h2 did not come back"
assert_contains "$WORK/h2/agent.log" "restore_from $SNAP ignored: this member has data already ($WORK/h2/data/member)"
assert_not_contains "$WORK/h2/agent.log" "restoring snapshot"
assert_eq "$(ectl 2 get after-restore --print-value-only)" kept \
	"the key written after the restore reads back through the restarted h2"
assert_eq "$(cluster_id 2)" "$new_id" "the same cluster ID after the restart"
stop_all

# A damaged snapshot: the tool's hash check refuses it; no etcd starts.
cp "$SNAP" "$WORK/backup/bad.db"
printf 'garbage!' | dd of="$WORK/backup/bad.db" bs=1 seek=9000 conv=notrunc 2>/dev/null
fresh 1
run_agent 1 --size 3 --token zl-bad --restore-from "$WORK/backup/bad.db"
WAIT_IGNORE_AGENTS=1 wait_for "h1 exits" 30 eval '! agent_alive 1' ||
	fail "h1 still runs with a damaged snapshot"
agent_wait 1 5
assert_eq "$AGENT_RC" 100 "a damaged snapshot: exit 100"
assert_contains "$WORK/h1/agent.log" "cannot restore snapshot $WORK/backup/bad.db:"
assert_contains "$WORK/h1/agent.log" "exited with status 1: Error: "
assert_contains "$WORK/h1/agent.log" "sha256"
assert_not_contains "$WORK/h1/agent.log" "starting etcd"
[ ! -e "$WORK/h1/data/member" ] && [ ! -e "$WORK/h1/data.restore" ] ||
	fail "a failed restore left member data behind"
ok "the failed restore left no member data"

# A missing one: the plan's check, before anything runs.
fresh 1
rc=0
run_plan 1 --size 3 --restore-from "$WORK/backup/none.db" || rc=$?
assert_eq "$rc" 100 "zooinit plan with a missing snapshot: exit 100"
assert_contains "$WORK/h1/plan.log" "restore_from is set to \"$WORK/backup/none.db\", which cannot be read: No such file or directory"

# The static source restores the same way.
IC="h1=http://$(host_ip 1):2380,h2=http://$(host_ip 2):2380,h3=http://$(host_ip 3):2380"
for i in 1 2 3; do
	fresh "$i"
	run_agent "$i" --sources static --initial-cluster "$IC" --health-interval 1 \
		--token zl-static --restore-from "$SNAP"
done
wait_for "the static restored cluster: 3 voting members and one leader" 90 \
	cluster_healthy 3 || fail "the static restored cluster did not form"
assert_eq "$(ectl 3 get old-1 --print-value-only)" "value 1" \
	"old-1 reads back from the statically planned cluster"
assert_contains "$WORK/h3/agent.log" "restoring snapshot $SNAP as member h3"
