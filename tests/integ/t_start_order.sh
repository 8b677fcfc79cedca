#!/bin/bash
# The first start of a new cluster goes in etcd's order (agent/order.h):
# etcd's startup check asks the peers' URLs sorted as strings, so the
# member whose URL sorts first starts at once and every other one waits
# until the first peer before it whose port is open serves. Here h1 (the
# first) is not there yet: h2 waits its bounded turn and starts alone, h3
# waits for h2 (not for the absent h1), and h1, started seconds later,
# completes the cluster. Port 2378 is taken in h2 and h3, so that they do
# not start through their own discovery service (t_local_discovery), as
# with etcd 3.7, which has none.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

net_up 3
zone_std 3
hold_port 2 127.0.0.1 2378
hold_port 3 127.0.0.1 2378
run_agent 2 --size 3 --health-interval 1
run_agent 3 --size 3 --health-interval 1

wait_for "h2 starts etcd without h1" 20 grep -qF "starting etcd after" \
	"$WORK/h2/agent.log" || fail "h2 never started etcd"
assert_contains "$WORK/h2/agent.log" "none of the 1 members whose peer URLs sort before this host's runs etcd yet"
wait_for "h3 starts etcd" 20 grep -qF "starting etcd after" \
	"$WORK/h3/agent.log" || fail "h3 never started etcd"
assert_contains "$WORK/h3/agent.log" "member h2 (http://$(host_ip 2):2380) serves its peer port"

run_agent 1 --size 3 --health-interval 1
wait_for "3 voting members and one leader" 60 cluster_healthy 3 ||
	fail "the cluster did not form"
assert_eq "$(cluster_leader_count 1)" 1 "exactly one leader"
for i in 1 2 3; do
	wait_for "h$i logs that the cluster is healthy" 30 \
		grep -qF "cluster healthy: 3 members" "$WORK/h$i/agent.log" ||
		fail "h$i: no 'cluster healthy' in agent.log"
done
