#!/bin/bash
# A real ZooKeeper 3.8 ensemble (Debian's package) brought up by zooinit:
# h1..h3 bootstrap etcd and then the service "zk" from their config; the
# ensemble has one leader and two followers (srvr); a znode created through
# h1 is read through h2; ZooKeeper killed on h2 is restarted by zooinit with
# the same myid and the ensemble is whole again; h4 runs `zooinit cluster`
# against that etcd and joins as an observer that serves the same data;
# SIGTERM stops ZooKeeper before etcd.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

# shellcheck source=lib_zk.sh
. "$(dirname "$0")/lib_zk.sh"
need_zookeeper

net_up 4
zone_std 3

for i in 1 2 3 4; do
	mkdir -p "$WORK/h$i"
	zk_conf "$i" >"$WORK/h$i/zooinit.conf"
done
for i in 1 2 3; do
	run_agent "$i" -f "$WORK/h$i/zooinit.conf" --size 3
done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the etcd cluster did not form"

# srvr I: ZooKeeper's srvr answer from host I (bounded).
wait_for "ZooKeeper: one leader, two followers" 180 zk_ensemble ||
	fail "the ZooKeeper ensemble did not form"
for i in 1 2 3; do
	say "h$i: $(zk_mode "$i")"
done

zk_cli 1 create /zooinit-test hello-from-h1 | grep -q "Created /zooinit-test" ||
	fail "create through h1 failed"
got=$(zk_cli 2 get /zooinit-test | grep -x 'hello-from-h1')
assert_eq "$got" hello-from-h1 "the znode reads back through h2"

for i in 1 2 3; do
	id=$(cat "$WORK/h$i/zk/myid")
	reg=$(ectl 1 get "/zooinit/services/zk/ids/$(host_ip "$i")" --print-value-only)
	assert_eq "$id" "$reg" "h$i: myid $id matches the registry"
	assert_contains "$WORK/h$i/zk/zoo.cfg" "server.$id=$(host_ip "$i"):2888:3888"
	assert_contains "$WORK/h$i/zk/zoo.cfg" "4lw.commands.whitelist"
done

# Kill ZooKeeper on h2: zooinit starts it again with the same myid.
zk_pid() { # I: the ZooKeeper JVM in host I
	local p
	for p in $(ns_pids "$1"); do
		grep -q QuorumPeerMain "/proc/$p/cmdline" 2>/dev/null && echo "$p"
	done
	return 0
}
old=$(zk_pid 2)
[ -n "$old" ] || fail "no ZooKeeper in h2"
myid=$(cat "$WORK/h2/zk/myid")
kill -9 "$old"
say "killed ZooKeeper (pid $old) in h2"
restarted() {
	local p
	p=$(zk_pid 2)
	[ -n "$p" ] && [ "$p" != "$old" ]
}
wait_for "a new ZooKeeper in h2" 30 restarted || fail "zooinit did not restart ZooKeeper"
wait_for "the ensemble whole again" 120 zk_ensemble || fail "the ensemble did not recover"
assert_eq "$(cat "$WORK/h2/zk/myid")" "$myid" "h2 kept myid $myid"
assert_eq "$(zk_cli 2 get /zooinit-test | grep -x 'hello-from-h1')" hello-from-h1 \
	"the znode survived on h2"

# h4: zooinit cluster against that etcd, beyond size: an observer.
eps="http://$(host_ip 1):2379,http://$(host_ip 2):2379,http://$(host_ip 3):2379"
printf '%s h4: %s cluster -f %s --endpoints %s zk\n' "$(date +%T)" "$ZOOINIT" \
	"$WORK/h4/zooinit.conf" "$eps" >>"$WORK/commands.log"
ip netns exec "$(host_ns 4)" "$ZOOINIT" cluster -f "$WORK/h4/zooinit.conf" \
	--endpoints "$eps" zk >"$WORK/h4/agent.log" 2>&1 </dev/null &
AGENT_PID[4]=$!
observer() { [ "$(zk_mode 4)" = observer ]; }
wait_for "h4 is a ZooKeeper observer" 120 observer || fail "h4 did not join as observer"
assert_eq "$(cat "$WORK/h4/zk/myid")" 4 "the observer got id 4"
assert_contains "$WORK/h4/zk/zoo.cfg" "server.4=$(host_ip 4):2888:3888:observer"
assert_eq "$(zk_cli 4 get /zooinit-test | grep -x 'hello-from-h1')" hello-from-h1 \
	"the observer serves the znode"
zk_ensemble || fail "the ensemble changed when the observer joined"

# zooinit status shows the registry: 3 participants and the observer.
st=$(ip netns exec "$(host_ns 1)" "$ZOOINIT" status --json \
	--endpoints "http://$(host_ip 1):2379" 2>/dev/null)
assert_eq "$(jq -r '.services[0].name, .services[0].sealed, .services[0].size' <<<"$st" | tr '\n' ' ')" \
	"zk true 3 " "status: service zk, sealed, size 3"
assert_eq "$(jq -r '[.services[0].nodes[] | select(.role == "participant" and .started)] | length' <<<"$st")" 3 \
	"status: 3 participants started"
assert_eq "$(jq -r '.services[0].nodes[] | select(.role == "standby") | "\(.id) \(.ip)"' <<<"$st")" \
	"4 $(host_ip 4)" "status: the observer is standby 4"

# SIGTERM: ZooKeeper stops before etcd, the agent exits 0.
agent_signal 1 TERM
agent_wait 1 60 || fail "h1's agent did not stop"
assert_eq "$AGENT_RC" 0 "h1's agent exited 0"
zk_stop=$(grep -n "service zk: stopping" "$WORK/h1/agent.log" | head -n 1 | cut -d: -f1)
etcd_stop=$(grep -n "stopping etcd\|etcd.*SIGTERM\|stopped etcd\|etcd exited" "$WORK/h1/agent.log" | head -n 1 | cut -d: -f1)
say "h1 log: zk stop at line ${zk_stop:-?}, etcd stop at line ${etcd_stop:-?}"
[ -n "$zk_stop" ] || fail "h1 did not stop ZooKeeper"
[ -z "$etcd_stop" ] || [ "$zk_stop" -lt "$etcd_stop" ] || fail "etcd stopped before ZooKeeper"
[ -z "$(zk_pid 1)" ] || fail "ZooKeeper still runs in h1"
ok "SIGTERM stopped ZooKeeper, then etcd"
