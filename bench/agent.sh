# shellcheck shell=bash
# bench/agent.sh — the agent at rest and etcd crashes (sourced by
# bench/run.sh, which defines the network, launch, wait_cluster, stats,
# emit and progress). See bench/README.md.
#
# agent_phase: a 3-member zooinit-dns cluster with default flags; once it
# is healthy and has idled 5 s, each agent's wakeups per second over
# IDLE_S seconds and its memory; then RECOVER_RUNS times: kill -9 of one
# member's etcd (h1, h2, h3 in turn) until that member is healthy again
# (crash1), and at once a second kill -9 of the etcd zooinit just
# restarted (crash2: the second crash in a row).
#
# leader_phase: the leader's crash on a cluster with etcd_args LEADER_ARGS
# (crash1t).

# proc_ctxt PID: voluntary + nonvoluntary context switches of every thread.
proc_ctxt() {
	awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { s += $2 } END { print s + 0 }' \
		/proc/"$1"/task/*/status 2>/dev/null
}
# proc_vol PID: "voluntary nonvoluntary" context switches of every thread.
proc_vol() {
	awk '/^voluntary_ctxt_switches:/ { v += $2 } /^nonvoluntary_ctxt_switches:/ { n += $2 }
		END { print v + 0, n + 0 }' /proc/"$1"/task/*/status 2>/dev/null
}
# proc_runs PID: how often the kernel put any of its threads on a CPU.
proc_runs() { schedstat_sum 3 "$1"; }
# proc_mem PID: "VmRSS Pss Anonymous" in kB (status and smaps_rollup).
proc_mem() {
	awk '/^VmRSS:/ { r = $2 } /^Pss:/ { p = $2 } /^Anonymous:/ { a = $2 }
		END { print r + 0, p + 0, a + 0 }' "/proc/$1/status" "/proc/$1/smaps_rollup" 2>/dev/null
}
# etcd_age PID: seconds since the process started.
etcd_age() {
	local st up tck
	tck=$(getconf CLK_TCK)
	st=$(awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] || return 1
	up=$(awk '{ print int($1) }' /proc/uptime)
	echo $((up - st / tck))
}
is_leader() { # I: member I is the leader (per its own status)
	local j
	j=$(ip netns exec "$SEED_NS" curl -s --max-time 2 -X POST -d '{}' \
		"http://$NET.$1:2379/v3/maintenance/status" 2>/dev/null)
	printf '%s\n' "$j" | jq -e '.header.member_id == .leader' >/dev/null 2>&1
}
med3() { printf '%s\n' "$@" | sort -g | sed -n 2p; } # the middle of three
# per_s FROM TO MS: a counter's rate per second between two readings MS ms
# apart; NA when either reading is missing (the process was gone).
per_s() { awk -v a="$1" -v b="$2" -v ms="$3" 'BEGIN { if (a == "" || b == "") print "NA"; else printf "%.2f", (b - a) / (ms / 1e3) }'; }

# idle_agents: counts the three agents' wakeups over IDLE_S s; emits their
# memory and the medians.
idle_agents() {
	local i a b d
	local -a c0 c1 r0 r1 v0 v1 ws vs rs rss pss anon m
	for i in 1 2 3; do
		c0[i]=$(proc_ctxt "${LPID[i]}") r0[i]=$(proc_runs "${LPID[i]}")
		v0[i]=$(proc_vol "${LPID[i]}")
	done
	a=$(now_ns)
	sleep "$IDLE_S"
	for i in 1 2 3; do
		c1[i]=$(proc_ctxt "${LPID[i]}") r1[i]=$(proc_runs "${LPID[i]}")
		v1[i]=$(proc_vol "${LPID[i]}")
	done
	b=$(now_ns)
	for i in 1 2 3; do
		kill -0 "${LPID[i]}" 2>/dev/null || fail "agent h$i exited while idle"
		read -ra m <<<"$(proc_mem "${LPID[i]}")"
		rss[i]=${m[0]} pss[i]=${m[1]} anon[i]=${m[2]}
		d=$(((b - a) / 1000000))
		ws[i]=$(per_s "${c0[i]}" "${c1[i]}" "$d")
		vs[i]=$(per_s "${v0[i]%% *}" "${v1[i]%% *}" "$d")
		rs[i]=$(per_s "${r0[i]}" "${r1[i]}" "$d")
		emit "# agent h$i pid ${LPID[i]}: VmRSS ${rss[i]} kB, Pss ${pss[i]} kB, Anonymous ${anon[i]} kB; $((c1[i] - c0[i])) context switches ($(awk -v a="${v0[i]}" -v b="${v1[i]}" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%d voluntary, %d not", y[1] - x[1], y[2] - x[2] }')), $((r1[i] - r0[i])) schedstat runs in $(secs "$a" "$b") s"
	done
	emit "agent rss_kb=$(med3 "${rss[@]:1}") pss_kb=$(med3 "${pss[@]:1}") anon_kb=$(med3 "${anon[@]:1}") wakeups_per_s=$(med3 "${ws[@]:1}") voluntary_per_s=$(med3 "${vs[@]:1}") schedstat_runs_per_s=$(med3 "${rs[@]:1}")"
}

# crash_once I: kill -9 of host I's etcd; CRASH_S is the time until host I
# runs a new etcd that answers GET /health true and `etcdctl endpoint
# health`. Returns 1 when that takes more than RUN_TIMEOUT s.
crash_once() {
	local who=$1 old new t0
	old=$(etcd_pids "$who")
	[ "$(printf '%s\n' "$old" | grep -c .)" = 1 ] || fail "crash: h$who runs etcd '$old'"
	t0=$(now_ns)
	kill -KILL "$old"
	while [ "$(now_ns)" -lt $((t0 + RUN_TIMEOUT * 1000000000)) ]; do
		new=$(etcd_pids "$who")
		if [ -n "$new" ] && [ "$new" != "$old" ] && poll_member "$who" &&
			etcdctl_health "$who"; then
			CRASH_S=$(secs "$t0" "$POLL_NS")
			return 0
		fi
		sleep "$POLL"
	done
	return 1
}

# crash_row KIND RUN WHO DETAIL: times one crash, writes its raw.tsv row.
crash_row() {
	local kind=$1 k=$2 who=$3 detail=$4
	if crash_once "$who"; then
		progress "crash run $k/$RECOVER_RUNS ($kind): kill -9 etcd of h$who ($detail): healthy again after $CRASH_S s"
		printf '%s\tzooinit-dns\t3\t%s\t%s\tok\th%s %s\n' "$kind" "$k" "$CRASH_S" "$who" "$detail" >>"$OUT/raw.tsv"
		return 0
	fi
	FAILED_RUNS=$((FAILED_RUNS + 1))
	progress "crash run $k/$RECOVER_RUNS ($kind): h$who not healthy after $RUN_TIMEOUT s"
	printf '%s\tzooinit-dns\t3\t%s\tNA\ttimeout\th%s %s\n' "$kind" "$k" "$who" "$detail" >>"$OUT/raw.tsv"
	mkdir -p "$OUT/failed/$kind-r$k"
	cp "$RD"/*.log "$OUT/failed/$kind-r$k/" 2>/dev/null
	return 1
}

# first_crash_ready RUN WHO KILLED: waits until the cluster is healthy and,
# when host WHO's etcd was KILLED before, until the etcd zooinit restarted
# has run STABLE_S s, so that its next crash is a first crash to zooinit
# too (it resets its backoff after a long run).
first_crash_ready() {
	local k=$1 who=$2 age
	wait_cluster 3 $(($(now_ns) + RUN_TIMEOUT * 1000000000)) ||
		fail "crash: cluster not healthy before run $k ($WHY)"
	[ -n "$3" ] || return 0
	age=$(etcd_age "$(etcd_pids "$who")") || fail "crash: no etcd age for h$who"
	[ "$age" -lt "$STABLE_S" ] || return 0
	progress "crash run $k: waiting $((STABLE_S - age)) s until the etcd of h$who has run $STABLE_S s"
	sleep $((STABLE_S - age))
	wait_cluster 3 $(($(now_ns) + RUN_TIMEOUT * 1000000000)) ||
		fail "crash: cluster not healthy before run $k ($WHY)"
}

# agents_alive WHEN: fails unless the three agents still run.
agents_alive() {
	local i
	for i in 1 2 3; do
		kill -0 "${LPID[i]}" 2>/dev/null || fail "agent h$i exited $1"
	done
}

# form_agent_cluster WHAT: a 3-member zooinit-dns cluster in $RD, healthy.
form_agent_cluster() {
	local t0 rc=0
	zone_std 3 >&2
	rm -rf "$RD" && mkdir -p "$RD"
	t0=$(now_ns)
	launch zooinit-dns 3 "$1"
	wait_cluster 3 $((t0 + RUN_TIMEOUT * 1000000000)) || rc=$?
	[ "$rc" = 0 ] || {
		mkdir -p "$OUT/failed" && cp -r "$RD" "$OUT/failed/$1" 2>/dev/null
		fail "$1 phase: the cluster did not form ($WHY)"
	}
	progress "$1: healthy after $(secs "$t0" "$DONE_NS") s"
}

agent_phase() {
	local who lead k
	local -a killed=()
	progress "agent: a 3-member zooinit-dns cluster (default flags)"
	form_agent_cluster agent
	progress "agent: idle 5 s, then counting for $IDLE_S s"
	sleep 5
	idle_agents

	# Members in turn, each crash a first crash (first_crash_ready).
	for ((k = 1; k <= RECOVER_RUNS; k++)); do
		who=$(((k - 1) % 3 + 1))
		first_crash_ready "$k" "$who" "${killed[who]:-}"
		killed[who]=1
		lead=follower
		is_leader "$who" && lead=leader
		crash_row crash1 "$k" "$who" "$lead" || continue
		crash_row crash2 "$k" "$who" "second"
	done
	agents_alive "during the crashes"
	emit "crash-first path=zooinit-dns $(stats crash1 zooinit-dns 3)"
	emit "crash-second path=zooinit-dns $(stats crash2 zooinit-dns 3)"
	# A killed leader costs an election on top (etcd's election timeout,
	# 1 s by default): the first crashes apart by the killed member's role.
	emit "crash-first-follower path=zooinit-dns $(STATS_DETAIL=' follower$' stats crash1 zooinit-dns 3)"
	emit "crash-first-leader path=zooinit-dns $(STATS_DETAIL=' leader$' stats crash1 zooinit-dns 3)"
	kill_hosts
	rm -rf "$RD"
}

# leader_phase: a 3-member zooinit-dns cluster whose etcds run with
# etcd_args LEADER_ARGS (shorter raft timings), then RECOVER_RUNS times a
# kill -9 of the leader's etcd, each a first crash: how long a lost leader
# costs once the election timeout is lowered (1 s by default, during
# which the followers refuse to vote).
leader_phase() {
	local i who k=1 tries=0
	local -a killed=()
	progress "leader: a 3-member zooinit-dns cluster, etcd_args $LEADER_ARGS"
	ZOOINIT_ETCD_ARGS=$LEADER_ARGS form_agent_cluster leader
	while [ "$k" -le "$RECOVER_RUNS" ]; do
		tries=$((tries + 1))
		[ "$tries" -le $((RECOVER_RUNS * 3)) ] || fail "leader: the leader kept moving ($tries tries)"
		who=""
		for i in 1 2 3; do is_leader "$i" && who=$i; done
		[ -n "$who" ] || fail "leader: no member is the leader before run $k"
		first_crash_ready "$k" "$who" "${killed[who]:-}"
		is_leader "$who" || continue # it moved while we waited
		killed[who]=1
		crash_row crash1t "$k" "$who" leader || true
		k=$((k + 1))
	done
	agents_alive "during the leader crashes"
	emit "crash-leader-tuned path=zooinit-dns $(stats crash1t zooinit-dns 3)"
	kill_hosts
	rm -rf "$RD"
}
