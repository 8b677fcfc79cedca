#!/bin/bash
# The agent as PID 1 of its own PID namespace (as in a container) reaps
# orphans: its etcd is a wrapper that leaves an orphaned grandchild
# (sleep 600) behind; once killed, that process must vanish from /proc
# instead of staying a zombie. SIGTERM to the agent ends the whole PID
# namespace.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

net_up 3
zone_std 3
wrapper=$WORK/etcd-wrapper.sh
cat >"$wrapper" <<WRAP
#!/bin/bash
( sleep 600 </dev/null >/dev/null 2>&1 & )
exec $(command -v etcd) "\$@"
WRAP
chmod +x "$wrapper"

AGENT_PREFIX=(unshare -pf --mount-proc)
run_agent 1 --size 3 --etcd "$wrapper"
# shellcheck disable=SC2034 # read by run_agent
AGENT_PREFIX=()
unshare_pid=$(agent_pid 1)
run_agent 2 --size 3
run_agent 3 --size 3

# The agent is unshare's only child; in its namespace it is PID 1.
pid1_found() { pgrep -P "$unshare_pid" >/dev/null; }
wait_for "the agent under unshare" 10 pid1_found || fail "unshare has no child"
agent=$(pgrep -P "$unshare_pid" | head -n 1)
nspid=$(awk '/^NSpid:/ { print $NF }' "/proc/$agent/status")
assert_eq "$nspid" 1 "the agent (host pid $agent) is PID 1 in its namespace"
pidns=$(readlink "/proc/$agent/ns/pid")

wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the cluster did not form"
ok "the cluster formed with the PID-1 agent on h1"

in_pidns() { [ "$(readlink "/proc/$1/ns/pid" 2>/dev/null)" = "$pidns" ]; }
find_orphan() {
	local p
	for p in $(pgrep -f 'sleep 600'); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ] && in_pidns "$p" &&
			echo "$p" && return 0
	done
	return 1
}
wait_for "the orphaned sleep in the agent's PID namespace" 20 find_orphan ||
	fail "no orphaned 'sleep 600' in the agent's PID namespace"
orphan=$(find_orphan)
ppid=$(awk '/^PPid:/ { print $2 }' "/proc/$orphan/status")
assert_eq "$ppid" "$agent" "the orphan (pid $orphan) was adopted by the agent"

kill -TERM "$orphan"
gone() { [ ! -e "/proc/$1" ]; }
if ! wait_for "the orphan reaped" 10 gone "$orphan"; then
	fail "the orphan is still in /proc ($(awk '/^State:/ { print $2, $3 }' "/proc/$orphan/status" 2>/dev/null)): not reaped"
fi
ok "the killed orphan was reaped by the agent"

kill -TERM "$agent"
agent_wait 1 30 || fail "the agent (via unshare) still runs 30 s after SIGTERM"
assert_eq "$AGENT_RC" 0 "the agent exits 0 on SIGTERM"
left_in_pidns() {
	local p
	for p in /proc/[0-9]*; do
		in_pidns "${p#/proc/}" && echo "${p#/proc/}"
	done
	return 0
}
none_left() { [ -z "$(left_in_pidns)" ]; }
wait_for "nothing left of the agent's PID namespace" 10 none_left ||
	fail "processes left in the agent's PID namespace: $(left_in_pidns | tr '\n' ' ')"
[ -z "$(ns_pids 1)" ] || fail "processes left in h1: $(ns_pids 1 | tr '\n' ' ')"
ok "nothing of the PID namespace remains"
