#!/bin/bash
# ZooKeeper over five hosts that run the same command: the zone lists
# h1..h3; every host runs `zooinit bootstrap -f zooinit.conf --size 3` with
# the service "zk" (size 3). h1..h3 become the etcd members and the
# ensemble's three participants (one leader, two followers); h4 and h5,
# started once the ensemble stands, are etcd clients (grpc-proxy) and join
# ZooKeeper as observers that serve the znode created through h1.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

# shellcheck source=lib_zk.sh
. "$(dirname "$0")/lib_zk.sh"
need_zookeeper

net_up 5
zone_std 3

observers() { [ "$(zk_mode 4)" = observer ] && [ "$(zk_mode 5)" = observer ]; }

for i in 1 2 3 4 5; do
	mkdir -p "$WORK/h$i"
	zk_conf "$i" >"$WORK/h$i/zooinit.conf"
done
for i in 1 2 3; do run_agent "$i" -f "$WORK/h$i/zooinit.conf" --size 3; done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the etcd cluster did not form"
wait_for "ZooKeeper: one leader, two followers" 180 zk_ensemble ||
	fail "the ZooKeeper ensemble did not form"
zk_cli 1 create /zooinit-test hello-from-h1 | grep -q "Created /zooinit-test" ||
	fail "create through h1 failed"

for i in 4 5; do run_agent "$i" -f "$WORK/h$i/zooinit.conf" --size 3; done
for i in 4 5; do
	wait_for "h$i logs 'proxy healthy'" 60 \
		grep -qF "proxy healthy: serving clients for the cluster of 3" "$WORK/h$i/agent.log" ||
		fail "h$i did not become an etcd client"
done
wait_for "h4 and h5 are ZooKeeper observers" 180 observers || fail "h4 and h5 did not join as observers"
for i in 4 5; do
	id=$(cat "$WORK/h$i/zk/myid")
	assert_contains "$WORK/h$i/zk/zoo.cfg" "server.$id=$(host_ip "$i"):2888:3888:observer"
	assert_eq "$(zk_cli "$i" get /zooinit-test | grep -x 'hello-from-h1')" hello-from-h1 \
		"observer h$i serves the znode"
done
zk_ensemble || fail "the ensemble changed when the observers joined"
assert_eq "$(cluster_member_names 1 | tr '\n' ' ')" "h1 h2 h3 " "the etcd members are still h1..h3"
