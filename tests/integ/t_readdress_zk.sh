#!/bin/bash
# A ZooKeeper participant whose host's address changes keeps its myid and
# its role. h1..h3 run etcd and the service "zk" (Debian's ZooKeeper 3.8);
# h3's agent stops, its address moves from .3 to .23 and the zone
# follows; the same command comes back: etcd's member moves (see
# t_readdress), the registry moves h3's id and its place in the sealed set
# to the new address, h1 and h2 restart one at a time with the new
# server list, and the ensemble is one leader and two followers again
# with the znode written before.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

# shellcheck source=lib_zk.sh
. "$(dirname "$0")/lib_zk.sh"
need_zookeeper

H3=3 # h3's last octet, as it moves

zk_addr() { # I: host I's address now (zk_srvr, zk_cli take it)
	if [ "$1" = 3 ]; then echo "$NET.$H3"; else host_ip "$1"; fi
}
etcd3_healthy() { # h3's etcd answers at its current address
	timeout -k 2 15 ip netns exec "$(host_ns 3)" env ETCDCTL_API=3 etcdctl \
		--endpoints "http://$(zk_addr 3):2379" --dial-timeout=2s \
		--command-timeout=5s endpoint health
}
followed() { # h1 and h2 restarted with h3's new address
	local i
	for i in 1 2; do
		grep -q "server.$myid=$NET.23:2888:3888" "$WORK/h$i/zk/zoo.cfg" || return 1
		grep -q "healthy again with the new member set" "$WORK/h$i/agent.log" || return 1
	done
}

net_up 3
zone_std 3
for i in 1 2 3; do
	mkdir -p "$WORK/h$i"
	zk_conf "$i" >"$WORK/h$i/zooinit.conf"
	run_agent "$i" -f "$WORK/h$i/zooinit.conf" --size 3 --stop-timeout 5
done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the etcd cluster did not form"
wait_for "ZooKeeper: one leader, two followers" 180 zk_ensemble ||
	fail "the ZooKeeper ensemble did not form"
myid=$(cat "$WORK/h3/zk/myid")
say "h3 is ZooKeeper participant $myid"
zk_cli 1 create /readdress before-the-move | grep -q "Created /readdress" ||
	fail "create through h1 failed"

agent_signal 3 TERM
agent_wait 3 60 || fail "agent h3 still runs 60 s after SIGTERM"
ip -n "$(host_ns 3)" addr del "$NET.3/24" dev eth0 || fail "cannot remove $NET.3"
ip -n "$(host_ns 3)" addr add "$NET.23/24" dev eth0 || fail "cannot add $NET.23"
H3=23
mapfile -t lines < <(zone_lines 3 | sed "s/^host-record=h3\.$ZONE,.*/host-record=h3.$ZONE,$NET.23/")
dns_zone "${lines[@]}"
say "h3 moved from $NET.3 to $NET.23"

run_agent 3 -f "$WORK/h3/zooinit.conf" --size 3 --stop-timeout 5
wait_for "h3's etcd healthy at $NET.23" 90 etcd3_healthy || fail "h3's etcd did not come back"
wait_for "h1 and h2 restarted with h3's new address" 180 followed ||
	fail "the other participants did not follow"
wait_for "ZooKeeper: one leader, two followers again" 120 zk_ensemble ||
	fail "the ensemble did not form again"
assert_eq "$(cat "$WORK/h3/zk/myid")" "$myid" "h3 kept myid $myid"
assert_contains "$WORK/h3/zk/zoo.cfg" "server.$myid=$NET.23:2888:3888"
assert_contains "$WORK/h3/agent.log" "moving its id to $NET.23"
assert_contains "$WORK/h3/agent.log" "this node is participant $myid of 3"
assert_eq "$(ectl 1 get "/zooinit/services/zk/ids/$NET.23" --print-value-only)" "$myid" \
	"the registry has id $myid at $NET.23"
assert_eq "$(ectl 1 get "/zooinit/services/zk/ids/$NET.3" --print-value-only)" "" \
	"no id left at $NET.3"
assert_eq "$(ectl 1 get /zooinit/services/zk/hosts/h3 --print-value-only)" "$NET.23" \
	"hosts/h3 is $NET.23"
# One at a time: the two restarts' "restarting it" lines never overlap a
# holder that has not said "healthy again" yet.
r1=$(grep -h "restarting it with the new configuration" "$WORK"/h[12]/agent.log | wc -l)
assert_eq "$r1" 2 "h1 and h2 each restarted once"
assert_eq "$(zk_cli 3 get /readdress | grep -x before-the-move)" before-the-move \
	"the znode written before the move reads back through h3"
