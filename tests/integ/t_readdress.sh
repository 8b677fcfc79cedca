#!/bin/bash
# A host whose address changes (DHCP, a cloud restart) keeps its member.
# Three members found through DNS; h3's agent stops, its address moves
# from .3 to .23 and the zone's A record follows; the same command on the
# same data dir updates h3's peer URL through h1 and h2, rewrites the
# journal and restarts the member there: the same cluster ID, the key
# written before read after, no member left at the old address. Then
# again from .23 to .33 while DNS still publishes .23 for about 10 s: the
# agent says so and waits, and never starts etcd on an address that is
# not this host's. Then h3's address moves under a running agent and
# its etcd exits: the agent plans again instead of restarting etcd on an
# address it cannot bind. Last, it moves under a running etcd: the
# failed health check finds the address gone, and the agent plans again.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

# ectl_at I ADDR ARGS...: etcdctl inside host I against ADDR:2379.
ectl_at() {
	local i=$1 a=$2
	shift 2
	timeout -k 2 15 ip netns exec "$(host_ns "$i")" env ETCDCTL_API=3 \
		etcdctl --endpoints "http://$a:2379" \
		--dial-timeout=2s --command-timeout=5s "$@"
}
# move_h3 OLD NEW: h3's eth0 address OLD -> NEW (last octets).
move_h3() {
	ip -n "$(host_ns 3)" addr del "$NET.$1/24" dev eth0 || fail "cannot remove $NET.$1 from h3"
	ip -n "$(host_ns 3)" addr add "$NET.$2/24" dev eth0 || fail "cannot add $NET.$2 to h3"
	say "h3 moved from $NET.$1 to $NET.$2"
}
# zone_h3 OCTET: the standard zone with h3's A record at $NET.OCTET.
zone_h3() {
	local -a lines
	mapfile -t lines < <(zone_lines 3 | sed "s/^host-record=h3\.$ZONE,.*/host-record=h3.$ZONE,$NET.$1/")
	dns_zone "${lines[@]}"
}
# h3_at OCTET: three started voters seen from h1, h3's peer URL at
# $NET.OCTET and no other, and h3's member healthy there.
h3_at() {
	local list
	list=$(ectl 1 member list) || return 1
	echo "$list"
	[ "$(grep -c ', started, .*, false$' <<<"$list")" = 3 ] || return 1
	grep -q ", h3, http://$NET.$1:2380, http://$NET.$1:2379" <<<"$list" || return 1
	ectl_at 3 "$NET.$1" endpoint health
}
no_etcd_in_h3() { [ -z "$(etcd_pids 3)" ]; }
one_leader() { [ "$(cluster_leader_count 1)" = 1 ]; }

net_up 3
zone_std 3
for i in 1 2 3; do
	run_agent "$i" --size 3 --stop-timeout 5
done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the cluster did not form"
id1=$(cluster_id 1) || fail "no cluster ID"
say "cluster ID $id1"
ectl 1 put zl-key before-the-move >/dev/null || fail "put through h1 failed"

# ---- 1: DNS follows at once
agent_signal 3 TERM
agent_wait 3 20 || fail "agent h3 still runs 20 s after SIGTERM"
move_h3 3 23
zone_h3 23

run_plan 3 || fail "zooinit plan failed in h3 (see h3/plan.log)"
assert_contains "$WORK/h3/plan.log" "http://$NET.23:2380"
assert_contains "$WORK/h3/plan.log" "new address $NET.23 (the journal has $NET.3"
no_etcd_in_h3 || fail "zooinit plan started etcd"
grep -q "$NET.3:" "$WORK/h3/data.zooinit/journal.json" ||
	fail "zooinit plan rewrote the journal"
ok "plan shows the move and changes nothing"

run_agent 3 --size 3 --stop-timeout 5
wait_for "h3 healthy at $NET.23, its old peer URL gone" 90 h3_at 23 ||
	fail "h3 did not come back at its new address"
assert_contains "$WORK/h3/agent.log" "is not one of this host's addresses"
assert_contains "$WORK/h3/agent.log" "member h3 moves from $NET.3 to $NET.23"
assert_contains "$WORK/h3/agent.log" "updated member h3"
assert_not_contains "$WORK/h3/agent.log" "cannot assign requested address"
grep -q "$NET.23:2380" "$WORK/h3/data.zooinit/journal.json" ||
	fail "h3's journal does not have its new address"
ok "h3's journal has its new address"
assert_eq "$(cluster_id 1)" "$id1" "the same cluster ID"
assert_eq "$(ectl_at 3 "$NET.23" get zl-key --print-value-only)" before-the-move \
	"the key written before the move reads back through h3"

# ---- 2: DNS still publishes the old address for about 10 s
agent_signal 3 TERM
agent_wait 3 20 || fail "agent h3 still runs 20 s after SIGTERM"
move_h3 23 33
run_agent 3 --size 3 --stop-timeout 5
wait_for "h3 says DNS still publishes $NET.23" 30 \
	grep -q "DNS still publishes h3.$ZONE at $NET.23" "$WORK/h3/agent.log" ||
	fail "h3 did not say that DNS has its old address"
t0=$SECONDS
while [ $((SECONDS - t0)) -lt 10 ]; do
	no_etcd_in_h3 || fail "etcd started in h3 while DNS still had the old address"
	sleep 1
done
ok "no etcd in h3 for 10 s while DNS has the old address"
zone_h3 33
wait_for "h3 healthy at $NET.33" 90 h3_at 33 ||
	fail "h3 did not come back once DNS followed"
assert_eq "$(cluster_id 1)" "$id1" "the same cluster ID after the second move"
assert_eq "$(ectl_at 3 "$NET.33" get zl-key --print-value-only)" before-the-move \
	"the key reads back through h3 after the second move"

# ---- 3: the address moves under a running agent, then etcd exits
move_h3 33 43
zone_h3 43
for p in $(etcd_pids 3); do kill -9 "$p"; done
wait_for "h3 healthy at $NET.43" 90 h3_at 43 ||
	fail "h3 did not come back after its etcd lost its address"
assert_contains "$WORK/h3/agent.log" "planning again: etcd exited and cannot listen on $NET.33"
assert_eq "$(cluster_id 1)" "$id1" "the same cluster ID after the third move"

# ---- 4: the address moves under a running agent and a running etcd
move_h3 43 63
zone_h3 63
wait_for "h3 healthy at $NET.63" 90 h3_at 63 ||
	fail "h3 did not come back after its address moved under it"
assert_contains "$WORK/h3/agent.log" "planning again: etcd is not healthy and cannot listen on $NET.43"
assert_eq "$(cluster_id 1)" "$id1" "the same cluster ID after the fourth move"
assert_eq "$(ectl_at 3 "$NET.63" get zl-key --print-value-only)" before-the-move \
	"the key reads back through h3 after the fourth move"
wait_for "one leader among the three" 30 one_leader || fail "not one leader"
