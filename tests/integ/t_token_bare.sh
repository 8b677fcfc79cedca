#!/bin/bash
# A cluster formed before zooinit gave etcd http://127.0.0.1:2378/TOKEN as
# its initial cluster token: h1 and h2 run plain etcd with the bare token
# zooinit-etcd-zl.test, as an older zooinit started them, and h3 never
# started. zooinit on h3 finds its member listed, never started, under the
# ID the bare token gives, says so, and starts etcd with that token: the
# cluster has 3 voting members and a key written before h3 came reads
# back through h3.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

net_up 3
zone_std 3
CL=""
for i in 1 2 3; do CL="$CL${CL:+,}h$i=http://$(host_ip "$i"):2380"; done
for i in 1 2; do
	a=$(host_ip "$i")
	mkdir -p "$WORK/h$i"
	ip netns exec "$(host_ns "$i")" etcd --name "h$i" \
		--data-dir "$WORK/h$i/data" --initial-cluster-token "zooinit-etcd-$ZONE" \
		--listen-client-urls "http://$a:2379" --advertise-client-urls "http://$a:2379" \
		--listen-peer-urls "http://$a:2380" --initial-advertise-peer-urls "http://$a:2380" \
		--initial-cluster "$CL" --initial-cluster-state new \
		>"$WORK/h$i/etcd.log" 2>&1 </dev/null &
done
two_up() { ectl 1 put bare-key "before h3" >/dev/null; }
wait_for "h1 and h2 elect a leader and take a key" 60 two_up ||
	fail "h1 and h2 did not form a cluster"

run_agent 3 --size 3 --health-interval 1
wait_for "3 voting members and one leader" 60 cluster_healthy 3 ||
	fail "h3 did not join the cluster"
assert_contains "$WORK/h3/agent.log" "was formed with token zooinit-etcd-$ZONE, not http://127.0.0.1:2378/zooinit-etcd-$ZONE: starting this member with it"
etcd_argv_has 3 "--initial-cluster-token zooinit-etcd-$ZONE " "--initial-cluster-state new"
assert_eq "$(ectl 3 get bare-key --print-value-only)" "before h3" \
	"the key written before h3 came reads back through h3"
