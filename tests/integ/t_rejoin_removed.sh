#!/bin/bash
# A member removed by remove_after while it was cut off comes back as a voter
# on its own (issue 18). Three members found through DNS with
# --remove-after 10, one cluster for every case:
#
#   (b) h3's link down 5 s (< remove_after): nothing is removed, the member
#       IDs are the same after.
#   (a) a follower's link down 25 s: the leader's agent removes it; when the
#       link is back its agent finds its member gone from the peers' list,
#       keeps the old data dir aside (DATA_DIR.removed-<UTC time>), joins as
#       a learner and is promoted: 3 voters, a key written while it was away
#       reads on it, `zooinit status` on it says it rejoined.
#   (c) the same with the leader's host cut off.
#
# About 2.5 minutes on 2 CPUs.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

FLAGS=(--size 3 --health-interval 1 --stop-timeout 5 --remove-after 10)

# ids: every host's member ID, "h1=ID h2=ID h3=ID".
ids() {
	local i out=""
	for i in 1 2 3; do
		out+="h$i=$(ectl "$i" endpoint status -w json |
			grep -o '"member_id":[0-9]*' | head -n 1 | cut -d: -f2) "
	done
	printf '%s\n' "${out% }"
}
# leader_host: the host whose member leads.
leader_host() {
	local i
	for i in 1 2 3; do
		ectl "$i" endpoint status -w fields 2>/dev/null | leader_endpoints |
			grep -q . && {
			echo "$i"
			return 0
		}
	done
	return 1
}
# removed_by I: the agents that logged removing host I's member.
removed_by() { grep -lF "removing member h$1 " "$WORK"/h[1-3]/agent.log 2>/dev/null; }
# voters3 I: host I sees h1 h2 h3 as started voters and no learner.
voters3() {
	local got
	got=$(ectl "$1" member list) || return 1
	printf '%s\n' "$got"
	[ "$(printf '%s\n' "$got" | awk -F', ' '$2 == "started" && $6 == "false" { print $3 }' |
		sort | tr '\n' ' ')" = "h1 h2 h3 " ]
}
more_than() { # N TEXT FILE: FILE has more than N lines with TEXT
	[ "$(grep -cF -- "$2" "$3")" -gt "$1" ]
}
link() { # I up|down
	ip -n "$(host_ns "$1")" link set eth0 "$2"
	say "h$1's eth0 is $2"
}
# away I SECS OTHER: cuts host I off for SECS seconds; a key is written
# through OTHER once I's member was removed (when SECS > remove_after).
away() {
	local i=$1 secs=$2 other=$3 t0=$SECONDS
	SEEN=$(grep -cF "this member was removed from cluster" "$WORK/h$i/agent.log")
	PROMOTED=$(grep -cF "promoted to a voting member" "$WORK/h$i/agent.log")
	link "$i" down
	if [ "$secs" -gt 10 ]; then
		wait_for "an agent removes h$i" "$secs" removed_by "$i" ||
			fail "no agent removed h$i within $secs s"
		say "$(grep -hF "removing member h$i " "$WORK"/h[1-3]/agent.log | tail -n 1)"
		KEY="rejoin/h$i" VAL="v$RANDOM"
		ectl "$other" put "$KEY" "$VAL" >/dev/null || fail "put through h$other failed"
		ok "put $KEY=$VAL through h$other while h$i is away"
	fi
	while [ $((SECONDS - t0)) -lt "$secs" ]; do sleep 0.5; done
	link "$i" up
}
# comes_back I: host I's agent rejoins; 3 voters; the key reads on it; the
# old data dir is kept aside; status says so.
comes_back() {
	local i=$1 kept got
	wait_for "h$i's agent finds its member removed" 60 more_than "$SEEN" \
		"this member was removed from cluster" "$WORK/h$i/agent.log" ||
		fail "h$i's agent did not see that its member was removed"
	say "$(grep -F "this member was removed from cluster" "$WORK/h$i/agent.log" | tail -n 1)"
	wait_for "h$i is promoted" 90 more_than "$PROMOTED" \
		"promoted to a voting member" "$WORK/h$i/agent.log" ||
		fail "h$i was not promoted"
	wait_for "3 voting members and one leader" 60 cluster_healthy 3 ||
		fail "the cluster is not healthy with 3 members"
	wait_for "the voters are h1 h2 h3, no learner" 30 voters3 1 ||
		fail "the voters are not h1 h2 h3"
	wait_for "$KEY reads on h$i" 30 eval \
		'[ "$(ectl '"$i"' get "$KEY" --print-value-only)" = "$VAL" ]' ||
		fail "the key written while h$i was away does not read on h$i"
	ok "the key written while h$i was away reads on h$i"
	assert_eq "$(grep -cF "this member was removed from cluster" "$WORK/h$i/agent.log")" \
		"$((SEEN + 1))" "h$i found its member removed once, not in a loop"
	kept=$(find "$WORK/h$i" -maxdepth 1 -name 'data.removed-*' | sort | tail -n 1)
	[ -n "$kept" ] && [ -d "$kept/member" ] ||
		fail "h$i's old data dir was not kept aside (want $WORK/h$i/data.removed-*/member)"
	ok "h$i's old data dir is kept in ${kept#"$WORK"/}"
	assert_contains "$WORK/h$i/agent.log" "kept the old data dir aside in $kept"
	got=$(in_host "$i" "$ZOOINIT" status --data-dir "$WORK/h$i/data" 2>&1)
	printf '%s\n' "$got" | sed 's/^/    status on h'"$i"': /'
	case $got in
	*"rejoined"*"$kept"*) ok "zooinit status on h$i says it rejoined and names $kept" ;;
	*) fail "zooinit status on h$i does not say it rejoined" ;;
	esac
	in_host "$i" "$ZOOINIT" status --json --data-dir "$WORK/h$i/data" 2>&1 |
		grep -q "\"this_host_note\": \"member h$i was removed" ||
		fail "zooinit status --json on h$i has no this_host_note"
	ok "zooinit status --json on h$i has this_host_note"
}

net_up 3
zone_std 3
for i in 1 2 3; do run_agent "$i" "${FLAGS[@]}"; done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the cluster did not form"

say "(b) a partition shorter than remove_after"
before=$(ids)
say "member IDs: $before"
away 3 5 1
wait_for "3 voting members and one leader" 60 cluster_healthy 3 ||
	fail "the cluster is not healthy after a short partition"
assert_eq "$(ids)" "$before" "the member IDs are unchanged"
for i in 1 2 3; do assert_not_contains "$WORK/h$i/agent.log" "removing member"; done

L=$(leader_host) || fail "no leader"
V=3
[ "$L" != 3 ] || V=2
O=1
[ "$L" != 1 ] || O=2
say "(a) a follower (h$V) cut off longer than remove_after; the leader is h$L"
away "$V" 25 "$L"
comes_back "$V"

L=$(leader_host) || fail "no leader"
O=1
[ "$L" != 1 ] || O=2
say "(c) the leader's host (h$L) cut off longer than remove_after"
away "$L" 25 "$O"
comes_back "$L"
for i in 1 2 3; do agent_alive "$i" || fail "agent h$i exited"; done
ok "every agent still runs"
