#!/bin/bash
# Services die with their agent: `zooinit cluster` runs a custom service
# (OnStart = /bin/sleep 1000) against a running one-member etcd, once as
# zooinit's own user and once with `user = "nobody"`; after kill -9 of the
# agent no process of the service may be left 2 s later. The child asks
# the kernel for SIGTERM when its parent dies (PR_SET_PDEATHSIG), and a
# change of credentials clears that request: set before setuid(), the
# nobody service outlived its agent, re-parented to PID 1.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

net_up 1
zone_std 1
run_agent 1 --size 1
wait_for "a one-member cluster" 90 cluster_healthy 1 ||
	fail "the cluster did not form"

cat >"$WORK/svc.conf" <<EOF
service = {
  plain = {
    size = 1;
    data_dir = "$WORK/h1/plain";
    hooks = { OnStart = ["/bin/sleep", "1000"]; };
  };
  asuser = {
    size = 1;
    user = "nobody";
    data_dir = "$WORK/h1/asuser";
    hooks = { OnStart = ["/bin/sleep", "1000"]; };
  };
};
EOF

# The service's processes in h1: every `sleep 1000` there (the test starts
# no other).
service_pids() {
	local p
	for p in $(ns_pids 1); do
		[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" = "/bin/sleep 1000 " ] &&
			echo "$p"
	done
	return 0
}
# The one service process, started by agent PID.
service_of() { # PID
	local p
	p=$(service_pids)
	[ -n "$p" ] && [ "$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)" = "$1" ] &&
		echo "$p"
}

for svc in plain asuser; do
	want_uid=0
	[ "$svc" = asuser ] && want_uid=$(id -u nobody)
	printf '%s h1: %s cluster -f %s --endpoints http://%s:2379 %s\n' \
		"$(date +%T)" "$ZOOINIT" "$WORK/svc.conf" "$(host_ip 1)" "$svc" \
		>>"$WORK/commands.log"
	ip netns exec "$(host_ns 1)" "$ZOOINIT" cluster -f "$WORK/svc.conf" \
		--endpoints "http://$(host_ip 1):2379" "$svc" \
		>"$WORK/h1/$svc.log" 2>&1 </dev/null &
	agent=$!
	wait_for "$svc: OnStart runs" 60 service_of "$agent" ||
		fail "$svc: the service did not start"
	sp=$(service_of "$agent")
	uid=$(awk '/^Uid:/ { print $2 }' "/proc/$sp/status")
	assert_eq "$uid" "$want_uid" "$svc: the service (pid $sp) runs as uid $want_uid"

	kill -9 "$agent"
	wait "$agent" 2>/dev/null
	left=""
	for ((n = 0; n < 20; n++)); do
		left=$(service_pids)
		[ -z "$left" ] && break
		sleep 0.1
	done
	if [ -n "$left" ]; then
		ps -o pid,ppid,user,args -p "$(echo "$left" | paste -sd,)" >&2
		kill -9 $left 2>/dev/null
		fail "$svc: the service outlived its agent's kill -9 by 2 s"
	fi
	ok "$svc: kill -9 of the agent took the service along"
done
