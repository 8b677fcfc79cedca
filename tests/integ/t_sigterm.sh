#!/bin/bash
# SIGTERM to an agent: it stops its etcd and exits 0 within --stop-timeout
# plus a margin, and leaves no process behind in its host.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

stop_timeout=5
net_up 3
zone_std 3
for i in 1 2 3; do
	run_agent "$i" --size 3 --stop-timeout "$stop_timeout"
done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the cluster did not form"
[ -n "$(etcd_pids 1)" ] || fail "no etcd process in h1"

start=$SECONDS
agent_signal 1 TERM
limit=$((stop_timeout + 10))
agent_wait 1 "$limit" || fail "agent h1 still runs ${limit} s after SIGTERM"
say "agent h1 exited $((SECONDS - start)) s after SIGTERM"
assert_eq "$AGENT_RC" 0 "agent h1 exits 0 on SIGTERM"

no_procs() { [ -z "$(ns_pids 1)" ]; }
wait_for "no process left in h1" 5 no_procs ||
	fail "processes left in h1: $(ns_pids 1 | tr '\n' ' ')"
ok "no etcd (nor anything else) left in h1's namespace"
