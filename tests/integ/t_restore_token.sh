#!/bin/bash
# restore_from through a discovery token: a plain etcd in host 4 holds a
# key and the token (v3 layout); its snapshot (etcdctl snapshot save) is
# restored by three agents that find each other through that token. They
# form 3 voters with a leader under another cluster ID than the
# snapshot's etcd, holding its key; each logs its restore.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_disc.sh
. "$(dirname "$0")/lib_disc.sh"
need_zooinit

DISC=4
TOK=rtok
SNAP=$WORK/backup/snap.db
net_up 4
D=$(host_ip "$DISC")
disc_etcd_up "$DISC" "$TOK" 3 "$(command -v etcd)"
ectl "$DISC" put from-backup "kept by the snapshot" >/dev/null || fail "put failed"
old_id=$(cluster_id "$DISC") || fail "no cluster ID"
mkdir -p "$WORK/backup"
ectl "$DISC" snapshot save "$SNAP" >"$WORK/backup/save.log" 2>&1 ||
	fail "etcdctl snapshot save failed: $(tail -n 3 "$WORK/backup/save.log")"

for i in 1 2 3; do
	run_agent "$i" --sources token --discovery-endpoints "http://$D:2379" \
		--discovery-token "$TOK" --name "h$i" --health-interval 1 \
		--restore-from "$SNAP"
done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the restored cluster did not form"
new_id=$(cluster_id 1) || fail "no cluster ID"
[ "$new_id" != "$old_id" ] || fail "the restored cluster has the snapshot's ID $old_id"
ok "a new cluster ID: $new_id (the snapshot's etcd: $old_id)"
assert_eq "$(ectl 2 get from-backup --print-value-only)" "kept by the snapshot" \
	"the snapshot's key reads back through h2"
for i in 1 2 3; do
	assert_contains "$WORK/h$i/agent.log" "restoring snapshot $SNAP as member h$i of a new cluster of 3 (token $TOK)"
	assert_contains "$WORK/h$i/agent.log" "snapshot $SNAP restored into $WORK/h$i/data"
done
