#!/bin/bash
# A static list has clients too: h1..h4 run the same `zooinit bootstrap
# --sources static --initial-cluster h1=...,h2=...,h3=...`; h1..h3 form 3
# voting members, h4 (not listed) logs that it is a client, runs etcd's
# grpc-proxy on 10.99.0.4:2379 and serves a put and a quorum get there.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

net_up 4
IC="h1=http://$(host_ip 1):2380,h2=http://$(host_ip 2):2380,h3=http://$(host_ip 3):2380"
serves() { # a put and a quorum get through h4
	ectl 4 put via4 four >/dev/null &&
		[ "$(ectl 4 get --consistency=l via4 --print-value-only)" = four ]
}
for i in 1 2 3 4; do
	run_agent "$i" --sources static --initial-cluster "$IC" --health-interval 1
done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 || fail "the cluster did not form"
log=$WORK/h4/agent.log
wait_for "h4 logs 'proxy healthy'" 60 \
	grep -qF "proxy healthy: serving clients for the cluster of 3" "$log" ||
	fail "h4 did not log 'proxy healthy'"
assert_contains "$log" "plan: 3 members from initial_cluster; this host is a client"
assert_contains "$log" "is not among the members of initial_cluster, so with role auto it serves clients through etcd's grpc-proxy"
wait_for "h4 serves a put and a quorum get" 30 serves || fail "etcdctl through h4 failed"
assert_eq "$(ectl 2 get via4 --print-value-only)" four "a key put through client h4 reads back through member h2"
assert_eq "$(cluster_member_names 1 | tr '\n' ' ')" "h1 h2 h3 " "the members are the listed three"
