#!/bin/bash
# A new cluster's first start through the agents' own discovery service
# (agent/localdisc.h): with etcd 3.4 to 3.6 every member starts its etcd at
# once with --discovery http://127.0.0.1:2378/TOKEN, served by its own
# agent, instead of in etcd's order. Here h3's port 2378 is taken by
# something else, so h3 starts in turn with the static member map and the
# same URL as its token; the three form one cluster (the member IDs
# agree). etcd 3.7 has no v2 discovery: every member starts in turn. An
# agent launched after the others' etcds answer starts its member in the
# cluster they formed instead. Once healthy the agents stop serving, and
# an etcd killed then restarts from its data with the static flags.
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
v2=0
grep -qa "api/v2discovery.JoinCluster" "$etcd" && v2=1
# How host I's agent started its etcd, from its log: "discovery", in turn
# because "port-taken" or "no-v2", or "late": launched after its peers'
# etcds already answered, it finds the cluster they formed and starts its
# own member in it, as an agent started seconds later would (the
# sanitizer runs, two tests at a time, showed it).
how_started() {
	local log=$WORK/h$1/agent.log
	if grep -qF "this member starts at once: its etcd learns the 3 members from this host's discovery service at $url" "$log"; then
		echo discovery
	elif grep -qF "cannot serve etcd's discovery on this host (cannot listen on 127.0.0.1 port 2378: Address already in use): this member starts in turn" "$log"; then
		echo port-taken
	elif grep -qF "has no v2 discovery (etcd 3.7+): this member starts in turn" "$log"; then
		echo no-v2
	elif grep -qF "runs and lists this member, which never started: starting it with the planned cluster" "$log"; then
		echo late
	else
		echo unknown
	fi
}
served=()
for i in 1 2 3; do
	how=$(how_started "$i")
	say "h$i started its etcd: $how"
	case $v2/$i/$how in
	1/[12]/discovery)
		etcd_argv_has "$i" "--discovery $url"
		served+=("$i")
		;;
	1/3/port-taken | 0/*/no-v2 | */late)
		etcd_argv_has "$i" "--initial-cluster-token $url"
		;;
	*) fail "h$i's agent.log does not say how it started its etcd as expected (got: $how)" ;;
	esac
done
if [ "$v2" = 1 ]; then
	[ "${#served[@]}" -ge 1 ] || fail "neither h1 nor h2 started through discovery"
	ok "${#served[@]} of h1 and h2 started through discovery"
fi

# Served only until the cluster is healthy.
for i in "${served[@]}"; do
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
