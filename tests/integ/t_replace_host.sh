#!/bin/bash
# A host dies for good and a new machine takes over its DNS name: h3's host
# is killed (agent and etcd, SIGKILL) and cut off, the zone's A record for
# h3 is pointed at another host's address, and that host runs the same
# `zooinit bootstrap` with an empty data dir. Both orders are forced:
#
#   before  the new host starts right after the kill, long before the
#           leader's agent would remove the dead member (--remove-after 10):
#           it finds the dead member holding its name at another peer URL,
#           removes it itself (the other two voters are a quorum), then
#           joins as a learner. `zooinit plan` on it says so first.
#   after   the new host starts once the leader's agent has removed the
#           dead member: it joins as a learner of a cluster without h3.
#
# Each order runs twice; the namespaces 3 and 4 take turns as h3's host.
#
#   run 1  before; the dead host's member is the leader, and the new host
#          starts while h1 and h2 elect another
#   run 2  after
#   run 3  before; the new host's member is listed already, beside the dead
#          member, as a learner that never started (added by hand, as a
#          join cut short leaves it, issue 17): the new host removes the
#          dead member, then starts its learner as an existing member with
#          the live member list, never as a new one with the planned cluster
#   run 4  after; the same learner listed already
#   run 5  before; the new host's etcd refuses its first start: its agent
#          plans again (asking the member list again), gets the same flags
#          and stops with 111 instead of restarting etcd with them; started
#          again, it runs the learner it added
#
# Every run ends with three started voters h1 h2 h3 and one leader, no
# member left with the dead host's peer URL, and the key written before
# the fault read back through the new host. A last run loses the quorum
# for good (h2 and h3 die): the new host stops with 111 instead of
# bootstrapping a new cluster beside the old one. About 100 s.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

FLAGS=(--size 3 --remove-after 10 --health-interval 1 --stop-timeout 5)
CUR=3   # the namespace that is h3 now
SPARE=4 # the namespace that takes over h3's name next

# The zone: h1, h2 and h3, h3's A record at host I's address.
zone_h3_at() {
	dns_zone \
		"srv-host=_etcd-server._tcp.$ZONE,h1.$ZONE,2380,0,10" \
		"srv-host=_etcd-server._tcp.$ZONE,h2.$ZONE,2380,0,10" \
		"srv-host=_etcd-server._tcp.$ZONE,h3.$ZONE,2380,0,10" \
		"host-record=h1.$ZONE,$(host_ip 1)" \
		"host-record=h2.$ZONE,$(host_ip 2)" \
		"host-record=h3.$ZONE,$(host_ip "$1")"
}

# host_dies I: SIGKILL to every process of host I, then its link down.
host_dies() {
	local -a pids
	mapfile -t pids < <(ns_pids "$1")
	{
		[ "${#pids[@]}" -eq 0 ] || kill -9 "${pids[@]}"
		sleep 0.3
	} 2>/dev/null
	ip -n "$(host_ns "$1")" link set eth0 down
	agent_wait "$1" 10 || fail "the agent of host $1 still runs after SIGKILL"
	say "host $1 died: kill -9 of ${pids[*]:-nothing}, eth0 down"
}

# listed URL: host 1's member list has a member with peer URL URL.
listed() { ectl 1 member list | grep -qF ", $1,"; }
not_listed() { ! listed "$1"; }

# add_learner added URL: with "added", adds a learner with peer URL URL
# through h1 (retrying while etcd asks for patience after a change).
add_learner() {
	[ "$1" = added ] || return 0
	wait_for "a learner at $2 added by hand" 30 ectl 1 member add h3 --learner --peer-urls="$2" ||
		fail "etcdctl member add --learner $2 failed"
}

# refused_once: the new host's etcd refused its first start; its agent
# planned again (asking the member list again), got the same flags and
# stopped with 111. Started again, it runs the learner it added.
refused_once() {
	local log=$WORK/h$SPARE/agent.log
	agent_wait "$SPARE" 40 || fail "the agent still runs 40 s after etcd refused its first start"
	assert_eq "$AGENT_RC" 111 "the agent exits 111"
	assert_contains "$log" "planning again: etcd exited with status 1 at once"
	sed -n '/planning again: etcd exited/,$p' "$log" | grep -qF "lists this host as learner" ||
		fail "planning again did not ask the member list again"
	ok "planning again asked the member list again"
	assert_contains "$log" "gave the same flags, which it would refuse again"
	[ "$(grep -c 'started etcd' "$log")" -eq 1 ] || fail "etcd was started more than once"
	run_agent "$SPARE" "${FLAGS[@]}" --etcd "$WORK/etcd-refuses-once"
}

# make_leader I: moves the leadership to host I's member.
make_leader() {
	local id ep
	id=$(ectl 1 member list | awk -F', ' -v u="http://$(host_ip "$1"):2380" '$4 == u { print $1 }')
	ep=$(ectl 1 endpoint status --cluster -w fields | leader_endpoints | head -n 1)
	[ -n "$id" ] && [ -n "$ep" ] || fail "no member ID for host $1 or no leader"
	if [ "$ep" != "http://$(host_ip "$1"):2379" ]; then
		timeout -k 2 15 ip netns exec "$(host_ns 1)" env ETCDCTL_API=3 etcdctl \
			--endpoints "$ep" --dial-timeout=2s --command-timeout=5s \
			move-leader "$id" >/dev/null || fail "move-leader to host $1 failed"
	fi
	wait_for "host $1 leads" 10 leads "$1" || fail "host $1 did not become the leader"
}
leads() { ectl "$1" endpoint status -w fields | leader_endpoints | grep -q .; }

# replaced_ok I OLD_URL: h1, h2 and host I see three started voters and
# answer a quorum read, one leader, no learner, and no member with OLD_URL.
replaced_ok() {
	local i m
	for i in 1 2 "$1"; do
		m=$(cluster_members "$i")
		[ "$m" = 3 ] || {
			echo "host $i: $m started voting members"
			return 1
		}
		ectl "$i" get --consistency=l replace/none >/dev/null || return 1
	done
	m=$(cluster_leader_count 1)
	[ "$m" = 1 ] || {
		echo "leaders: $m"
		return 1
	}
	ectl 1 member list | grep -q ', true$' && {
		echo "a learner is left"
		return 1
	}
	! listed "$2"
}

# replace ORDER RUN [added]: one replacement of h3's host, in ORDER
# (before/after); with "added", the new host's learner is added by hand
# before it starts.
replace() {
	local order=$1 run=$2 mode=${3:-} added="" old new key val t0 names
	local -a extra=()
	[ "$mode" = refused ] && extra=(--etcd "$WORK/etcd-refuses-once")
	case $mode in added | refused) added=added ;; esac
	old="http://$(host_ip "$CUR"):2380"
	new="http://$(host_ip "$SPARE"):2380"
	key="replace/$order$run"
	val="v$RANDOM-$(date +%s)"
	say "---- run $run, new host $order the removal: h3 moves from host $CUR to host $SPARE"
	ectl 1 put "$key" "$val" >/dev/null || fail "put $key through h1 failed"
	# The new machine: an empty disk, its link up.
	rm -rf "$WORK/h$SPARE/data" "$WORK/h$SPARE/data.zooinit"
	ip -n "$(host_ns "$SPARE")" link set eth0 up
	# etcd adds no member, learners included, while a voter is cut off
	# (until it notices, which is how a join cut short leaves both): in
	# this order the learner is added before the host dies.
	[ "$order" = after ] || [ "$mode" = refused ] || add_learner "$added" "$new"
	[ "$mode" != leader ] || make_leader "$CUR"
	zone_h3_at "$SPARE"
	t0=$SECONDS
	host_dies "$CUR"
	if [ "$order" = before ]; then
		listed "$old" || fail "the dead member ($old) is gone already"
		run_plan "$SPARE" "${FLAGS[@]}" || fail "zooinit plan failed (see h$SPARE/plan.log)"
		assert_contains "$WORK/h$SPARE/plan.log" "another peer URL than this host's ($new): a replaced host"
		listed "$old" || fail "the dead member ($old) was removed before the new host started"
		run_agent "$SPARE" "${FLAGS[@]}" "${extra[@]}"
		wait_for "the new host removes the dead member" 30 \
			grep -qF "which held this host's name at another peer URL (a replaced host)" \
			"$WORK/h$SPARE/agent.log" || fail "the new host did not remove the dead member"
		[ "$mode" != refused ] || refused_once
	else
		wait_for "the leader's agent removes the dead member" 60 not_listed "$old" ||
			fail "the dead member ($old) was not removed"
		add_learner "$added" "$new"
		run_agent "$SPARE" "${FLAGS[@]}"
	fi
	if [ -n "$added" ]; then
		wait_for "the new host starts its learner as an existing member" 30 \
			grep -qF "added but never started: starting it as an existing member" \
			"$WORK/h$SPARE/agent.log" || fail "the new host did not start its listed learner"
	else
		wait_for "the new host joins as a learner" 30 \
			grep -qF "runs without this host: added as learner" "$WORK/h$SPARE/agent.log" ||
			fail "the new host did not join as a learner"
	fi
	wait_for "the new host is promoted" 90 \
		grep -qF "promoted to a voting member" "$WORK/h$SPARE/agent.log" ||
		fail "the new host was not promoted"
	wait_for "3 voters and one leader, the dead member gone" 60 replaced_ok "$SPARE" "$old" ||
		fail "the cluster did not come back to 3 voters without $old"
	names=$(ectl 1 member list | awk -F', ' '{ print $3 }' | sort | tr '\n' ' ')
	assert_eq "${names% }" "h1 h2 h3" "the members are h1 h2 h3"
	assert_eq "$(ectl "$SPARE" get "$key" --print-value-only)" "$val" \
		"the key written before the fault reads back through the new host"
	assert_not_contains "$WORK/h$SPARE/agent.log" "etcd exited"
	say "run $run ($order) took $((SECONDS - t0)) s"
	CUR=$SPARE
	SPARE=$((7 - SPARE))
}

# An etcd that refuses its first start (exit 1 at once, after making
# member/snap as etcd does) and runs as the real one afterwards.
cat >"$WORK/etcd-refuses-once" <<SH
#!/bin/sh
case "\$1" in --version) exec "$(command -v etcd)" "\$@" ;; esac
if ! [ -e "$WORK/refused-once" ]; then
	: >"$WORK/refused-once"
	while [ \$# -gt 1 ]; do
		[ "\$1" = --data-dir ] && mkdir -p "\$2/member/snap"
		shift
	done
	echo "C | etcdmain: refused once by the test" >&2
	exit 1
fi
exec "$(command -v etcd)" "\$@"
SH
chmod +x "$WORK/etcd-refuses-once"

net_up 4
zone_h3_at 3
ip -n "$(host_ns 4)" link set eth0 down
for i in 1 2 3; do run_agent "$i" "${FLAGS[@]}"; done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the cluster did not form"

replace before 1 leader
replace after 2
replace before 3 added
replace after 4 added
replace before 5 refused
ok "h3's host was replaced five times, three times before and twice after the removal"

# Last, h2 and h3 die together (processes killed, links up): h1 alone has
# no quorum. A new host for h3 finds started members without a leader (it
# asks again for a while), or a leader nobody can reach; it stops (111),
# never bootstrapping a new cluster beside the old one.
say "---- h2 and h3 (host $CUR) die; a new host $SPARE for h3 finds no leader"
for i in 2 "$CUR"; do
	mapfile -t pids < <(ns_pids "$i")
	kill -9 "${pids[@]}" 2>/dev/null
	agent_wait "$i" 10 || fail "the agent of host $i still runs after SIGKILL"
done
rm -rf "$WORK/h$SPARE/data" "$WORK/h$SPARE/data.zooinit"
ip -n "$(host_ns "$SPARE")" link set eth0 up
zone_h3_at "$SPARE"
run_agent "$SPARE" "${FLAGS[@]}"
agent_wait "$SPARE" 60 || fail "the new host's agent still waits 60 s after the quorum was lost"
assert_eq "$AGENT_RC" 111 "the new host's agent exits 111"
# etcd 3.4's lone h1 reports no leader; with pre-vote (3.5+) it keeps
# naming the dead one, and its /health fails: either way the agent says
# why it stops.
log=$WORK/h$SPARE/agent.log
if grep -qF "has started members but no leader (an election, or a lost quorum)" "$log"; then
	assert_contains "$log" "its quorum is lost; a new cluster beside it would split the hosts"
else
	assert_contains "$log" "holds this host's name at another peer URL (a replaced host); removing it needs 2 healthy voters besides it and only 0 are"
fi
assert_not_contains "$WORK/h$SPARE/agent.log" "started etcd"
