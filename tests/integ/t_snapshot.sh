#!/bin/bash
# Three hosts through DNS with snapshots every 2 s, keeping 2: only the
# leader's host writes them, exactly 2 remain after several intervals,
# each named <cluster ID hex>-<revision>-<UTC time>.db; with writes going
# on meanwhile, etcd's own snapshot status tool accepts each and reports
# the revision of its name, and its restore takes the newest; the hook
# ran with each new path; once the leadership moves, the new leader's
# host takes them. `zooinit snapshot
# save FILE` writes a good file; against a closed port it exits 111, says
# why and leaves nothing behind.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

# etcd's tool for reading a snapshot file: etcdutl from 3.5 on, etcdctl
# before. Prints the file's revision.
snap_revision() { # FILE
	local j
	if command -v etcdutl >/dev/null; then
		j=$(etcdutl snapshot status "$1" -w json) || return 1
	else
		j=$(ETCDCTL_API=3 etcdctl snapshot status "$1" -w json) || return 1
	fi
	printf '%s\n' "$j" | grep -o '"revision":[0-9]*' | cut -d: -f2
}
# snap_restores FILE DIR: etcd's own restore takes FILE (it checks the
# sha256 a snapshot ends in) into the new data dir DIR.
snap_restores() {
	if command -v etcdutl >/dev/null; then
		etcdutl snapshot restore "$1" --data-dir "$2" >"$2.log" 2>&1
	else
		ETCDCTL_API=3 etcdctl snapshot restore "$1" --data-dir "$2" >"$2.log" 2>&1
	fi
}
snaps() { # I: the snapshot files in host I's snapshot_dir, oldest first
	find "$WORK/h$1/snap" -maxdepth 1 -name '*.db' -printf '%f\n' \
		2>/dev/null | sort -t- -k3
}
# keep_snaps I: hard links to host I's snapshot files, in $WORK/kept, as
# one listing saw them (snapshots go on every 2 s and rotation removes
# the oldest, so a file listed may be gone a moment later). Retries
# until one listing could be linked whole.
keep_snaps() {
	local f tries
	for tries in 1 2 3 4 5; do
		rm -rf "$WORK/kept"
		mkdir -p "$WORK/kept"
		for f in $(snaps "$1"); do
			ln "$WORK/h$1/snap/$f" "$WORK/kept/$f" 2>/dev/null ||
				continue 2
		done
		return 0
	done
	return 1
}
saved_count() { # I N: host I logged at least N saved snapshots
	[ "$(grep -c 'snapshot saved: ' "$WORK/h$1/agent.log")" -ge "$2" ]
}

net_up 3
zone_std 3
cat >"$WORK/hook.sh" <<EOF
#!/bin/sh
echo "\$1" >>"$WORK/hook.log"
EOF
chmod +x "$WORK/hook.sh"
for i in 1 2 3; do
	run_agent "$i" --size 3 --health-interval 1 \
		--snapshot-dir "$WORK/h$i/snap" --snapshot-interval 2 \
		--snapshot-keep 2 --snapshot-hook "$WORK/hook.sh"
done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the cluster did not form"
for k in 1 2 3 4 5; do
	ectl 1 put "snap-key-$k" "value $k" >/dev/null || fail "put failed"
done
leader_url=$(ectl 1 endpoint status --cluster -w fields | leader_endpoints)
L=${leader_url#http://"$NET".}
L=${L%%:*}
[ -n "$L" ] && [ "$L" -ge 1 ] && [ "$L" -le 3 ] ||
	fail "no leader host in '$leader_url'"
say "the leader is h$L"

# Writes go on while snapshots are taken: each name must still carry the
# revision its db holds.
(for k in $(seq 1 60); do ectl 1 put "load-$k" "x" >/dev/null || exit 1; done) &
writer=$!
wait_for "h$L has saved 4 snapshots" 30 saved_count "$L" 4 ||
	fail "the leader's agent did not take snapshots every 2 s"
wait "$writer" || fail "writing keys during the snapshots failed"
cid=$(printf '%016x' "$(cluster_id 1)")
keep_snaps "$L" || fail "h$L's snapshot files keep changing"
mapfile -t files < <(find "$WORK/kept" -name '*.db' -printf '%f\n' | sort -t- -k3)
assert_eq "${#files[@]}" 2 "exactly snapshot_keep=2 snapshots remain"
for f in "${files[@]}"; do
	[[ $f =~ ^${cid}-[0-9]+-[0-9]{8}T[0-9]{6}Z\.db$ ]] ||
		fail "$f is not named <cluster ID $cid>-<revision>-<UTC time>.db"
done
ok "names carry the cluster ID $cid, a revision and a UTC time"
for i in 1 2 3; do
	[ "$i" = "$L" ] && continue
	assert_eq "$(snaps "$i" | wc -l)" 0 "h$i (not the leader) has none"
	assert_not_contains "$WORK/h$i/agent.log" "snapshot saved"
done
for f in "${files[@]}"; do
	rev=$(snap_revision "$WORK/kept/$f") ||
		fail "etcd's snapshot status refuses $f"
	name_rev=${f#*-}
	name_rev=${name_rev%%-*}
	assert_eq "$rev" "$name_rev" "etcd's snapshot status reads the revision in $f's name"
done
newest=${files[1]}
snap_restores "$WORK/kept/$newest" "$WORK/restored" ||
	fail "etcd's snapshot restore refuses $newest: $(tail -n 2 "$WORK/restored.log")"
ok "etcd's snapshot restore takes $newest (it ends in etcd's sha256)"
[ "$rev" -ge 6 ] || fail "revision $rev misses the 5 keys put"
assert_not_contains "$WORK/h$L/agent.log" "holds no revision zooinit can read"
assert_contains "$WORK/h$L/agent.log" "(beyond snapshot_keep 2)"
wait_for "the hook ran for $newest" 10 \
	grep -qxF "$WORK/h$L/snap/$newest" "$WORK/hook.log" ||
	fail "snapshot_hook did not get $WORK/h$L/snap/$newest"
[ "$(grep -c . "$WORK/hook.log")" -ge 4 ] ||
	fail "the hook ran fewer times than snapshots were saved"
ok "snapshot_hook ran with each new file's path"
[ -z "$(find "$WORK/h$L/snap" -name '.zooinit-snapshot-*' -mmin +1)" ] ||
	fail "old temporary files left in the snapshot dir"

# Leadership moves: the new leader's agent takes the next ones.
F=$((L % 3 + 1))
mid=$(ectl "$F" endpoint status -w fields |
	awk -F' : ' '$1 == "\"MemberID\"" { print $2 }')
[ -n "$mid" ] || fail "no member ID for h$F"
ectl "$L" move-leader "$(printf '%x' "$mid")" >/dev/null ||
	fail "moving the leadership to h$F failed"
wait_for "h$F (the new leader) saves a snapshot" 15 saved_count "$F" 1 ||
	fail "the new leader's agent took no snapshot"
assert_contains "$WORK/h$F/agent.log" "leads: its agent takes the snapshots"
[ "$(snaps "$F" | wc -l)" -ge 1 ] || fail "h$F has no snapshot file"

# On demand, through a member that does not lead (any more).
F=$L
out=$(in_host "$F" "$ZOOINIT" snapshot save "$WORK/manual.db" \
	--endpoints "http://$(host_ip "$F"):2379" 2>&1) ||
	fail "zooinit snapshot save failed: $out"
printf '%s\n' "$out" >"$WORK/manual.out"
assert_contains "$WORK/manual.out" "$WORK/manual.db: revision "
assert_contains "$WORK/manual.out" "cluster $cid"
rev=$(snap_revision "$WORK/manual.db") || fail "etcd refuses manual.db"
snap_restores "$WORK/manual.db" "$WORK/restored-manual" ||
	fail "etcd's snapshot restore refuses manual.db: $(tail -n 2 "$WORK/restored-manual.log")"
assert_contains "$WORK/manual.out" "revision $rev,"

# A closed port: exit 111, a reason, no file and no temporary file.
rc=0
in_host 1 "$ZOOINIT" snapshot save "$WORK/bad.db" \
	--endpoints "http://$(host_ip 1):2999" >"$WORK/bad.out" 2>&1 || rc=$?
assert_eq "$rc" 111 "an unreachable endpoint exits 111"
assert_contains "$WORK/bad.out" "no snapshot written to $WORK/bad.db"
assert_contains "$WORK/bad.out" "http://$(host_ip 1):2999/v3/maintenance/status"
[ -z "$(find "$WORK" -maxdepth 1 -name 'bad.db*')" ] ||
	fail "a failed save left $(find "$WORK" -maxdepth 1 -name 'bad.db*')"
ok "a failed save leaves no file behind"
