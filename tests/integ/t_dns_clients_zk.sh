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

[ -f /usr/share/java/zookeeper.jar ] || skip "Debian's zookeeper package is not installed"
command -v java >/dev/null || skip "no java"
ZKCP=/usr/share/java/zookeeper.jar
[ -f /usr/share/java/slf4j-simple.jar ] && ZKCP=$ZKCP:/usr/share/java/slf4j-simple.jar

net_up 5
zone_std 3

conf() { # I: the config of host I
	cat <<EOF2
services = ("zk");
service = {
  zk = {
    backend = "zookeeper";
    size = 3;
    data_dir = "$WORK/h$1/zk";
    health_interval = 2;
    start_timeout = 180;
  };
};
EOF2
}
srvr() {
	timeout -k 1 5 ip netns exec "$(host_ns "$1")" bash -c \
		'exec 3<>/dev/tcp/$0/2181 && echo srvr >&3 && cat <&3' "$(host_ip "$1")" 2>/dev/null
}
mode() { srvr "$1" | sed -n 's/^Mode: //p'; }
ensemble() { # leader + 2 followers among h1..h3
	local out="" i
	for i in 1 2 3; do out="$out $(mode "$i")"; done
	echo "modes:$out"
	[ "$(tr ' ' '\n' <<<"$out" | grep -c '^leader$')" = 1 ] &&
		[ "$(tr ' ' '\n' <<<"$out" | grep -c '^follower$')" = 2 ]
}
observers() { [ "$(mode 4)" = observer ] && [ "$(mode 5)" = observer ]; }
zkcli() {
	local i=$1
	shift
	timeout -k 2 60 ip netns exec "$(host_ns "$i")" java -cp "$ZKCP" \
		org.apache.zookeeper.ZooKeeperMain -server "$(host_ip "$i"):2181" "$@" 2>&1
}

for i in 1 2 3 4 5; do
	mkdir -p "$WORK/h$i"
	conf "$i" >"$WORK/h$i/zooinit.conf"
done
for i in 1 2 3; do run_agent "$i" -f "$WORK/h$i/zooinit.conf" --size 3; done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the etcd cluster did not form"
wait_for "ZooKeeper: one leader, two followers" 180 ensemble ||
	fail "the ZooKeeper ensemble did not form"
zkcli 1 create /zooinit-test hello-from-h1 | grep -q "Created /zooinit-test" ||
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
	assert_eq "$(zkcli "$i" get /zooinit-test | grep -x 'hello-from-h1')" hello-from-h1 \
		"observer h$i serves the znode"
done
ensemble || fail "the ensemble changed when the observers joined"
assert_eq "$(cluster_member_names 1 | tr '\n' ' ')" "h1 h2 h3 " "the etcd members are still h1..h3"
