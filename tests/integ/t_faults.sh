#!/bin/bash
# The fault suite: zooinit's clusters under process deaths, lost data, cut
# links, DNS trouble, broken zones, token misuse and membership changes.
# Each scenario sets up what it needs (or reuses the cluster the scenario
# before it left, when that one is still healthy), writes a key before the
# fault where a cluster exists, injects the fault, asserts the outcome a
# user sees, and reads the key back. A scenario that fails does not stop
# the suite: its logs are printed, it is marked FAIL in the table, and the
# next scenario starts from a fresh network where it needs one.
#
# At the end a table is printed:
#
#   scenario                         outcome  data intact  time
#   kill -9 etcd                     ok       yes          12 s
#
# "data intact" is yes when the key written before the fault reads back
# after it (through the host named in the scenario; when the scenario failed
# before that, through any host that answers), no when it does not, n.a.
# when no cluster existed at the time of the fault (those scenarios still
# check that a key put through one member reads back through another). The
# test exits 1 when any scenario failed.
#
# Scenarios (function, fault -> what must follow):
#   s_kill_etcd        kill -9 of h2's etcd -> the same agent restarts it
#   s_kill_agent       kill -9 of h1's agent -> its etcd stops too (SIGTERM
#                      through PR_SET_PDEATHSIG); started again, the agent
#                      restarts the same member from its journal
#   s_sigterm_all      SIGTERM to every agent, then start -> same cluster ID
#   s_full_outage      SIGKILL to every process of h1..h3 -> same cluster ID
#   s_lost_data        h3's data dir deleted -> stale member replaced, h3
#                      rejoins as a learner and is promoted
#   s_size_grows       h4 published, started with --size 4 -> 4 voters
#   s_partition        h3's link down during bootstrap (DNS) -> h1+h2 form
#                      the cluster, h3 starts its never-started member later
#   s_partition_token  the same with a discovery token (h3 registered first)
#   s_dns_down         dnsmasq down at boot, up ~5 s later -> cluster forms
#   s_srv_partial      zone publishes h1,h2 of --size 3, then h3 -> forms
#   s_scheme_mismatch  -ssl and plain SRV sets -> exit 100, no etcd
#   s_dup_name         a 4th host with --name h2 on a running token cluster
#                      -> exit 100, the cluster unaffected
#   s_token_reused     lost data dir with the token -> exit 100, h1+h2 serve
#   s_one_extra        4 agents on a token of 3 -> 3 voters + grpc-proxy
#   s_remove_after     a member dies (agent and etcd) with --remove-after 5
#                      -> removed, the extra joins and is promoted
#   s_seed_dies        everything in h1 (seed + member) killed -> h2+h3
#                      keep a quorum and serve the key
#
# When every scenario passes the suite takes about 2.5 minutes (2 CPUs),
# inside run.sh's default limit of 300 s. A failing scenario can wait up to
# its bounds (60-120 s per wait), so a badly broken build may need up to
# ~10 minutes; give it room with
#
#   ZI_TEST_TIMEOUT=900 TESTS=t_faults tests/integ/run.sh $PWD/build/zooinit
#
# (stopped by run.sh's limit, the suite still prints the table so far).
# FAULTS=REGEX runs only the scenarios whose function name matches, e.g.
# FAULTS='s_kill|s_lost' (a reused cluster is then built as needed).
#
# Hosts: 10.99.0.1..5 (lib.sh). The DNS scenarios publish h1..h3 (h4 for the
# growing cluster); the token scenarios run `zooinit discovery serve` in h5,
# except the seed-dies scenario, whose seed h1's agent starts itself. The
# token is the one the seed prints: a v2 token URL on etcd 3.4 and 3.5, the
# v3 endpoints and token on 3.6 and later (lib.sh disc_parse).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

ROOT=$WORK
LOG_TAIL=${LOG_TAIL:-30}

# lib.sh's EXIT trap would dump every log of every scenario when the suite
# fails; the scenarios dump their own. This one only cleans up.
_faults_exit() {
	local rc=$?
	trap '' INT TERM
	trap - EXIT
	set +e
	zi_teardown
	if [ "${KEEP:-0}" = 1 ]; then
		printf '# KEEP=1: files kept in %s\n' "$ROOT" >&2
	else
		rm -rf "$ROOT"
	fi
	exit "$rc"
}
trap _faults_exit EXIT

# ================================================================ framework

# Per scenario: WHY (the first failure), DATA (yes/no/n.a./pending), KEY
# and VAL (the key written before the fault).
WHY="" DATA=n.a. KEY="" VAL=""

# bad MESSAGE: records the scenario's failure; returns 1, so that a step
# reads `check || bad "..." || return 1`, or `|| { bad "..."; return 1; }`.
bad() {
	[ -n "$WHY" ] || WHY=$*
	printf '  FAIL: %s\n' "$*" >&2
	return 1
}
# waitok DESC SECS CMD...: wait_for, recording a failure when it times out
# or when an agent exits meanwhile (then with its status and last error).
waitok() {
	local desc=$1 secs=$2 i
	local -a before=()
	shift 2
	for i in "${!AGENT_PID[@]}"; do before[i]=${AGENT_PID[i]}; done
	wait_for "$desc" "$secs" "$@" && return 0
	for i in "${!before[@]}"; do
		if [ -z "${before[i]}" ] || [ -n "${AGENT_PID[i]:-}" ]; then continue; fi
		bad "$desc: agent h$i exited with status ${AGENT_RC:-?}: $(grep -a 'zooinit.* error: ' \
			"$WORK/h$i/agent.log" | tail -n 1 | cut -d' ' -f2-)"
		return 1
	done
	bad "$desc: not within $secs s"
}
# waitlog I SECS TEXT: agent I's current log gets a line with TEXT.
waitlog() {
	waitok "h$1 logs '$3'" "$2" grep -qF -- "$3" "$WORK/h$1/agent.log"
}
eq() { # GOT WANT DESC
	if [ "$1" = "$2" ]; then ok "$3"; else bad "$3: got '$1', want '$2'"; fi
}
logged() { # I TEXT: agent I's current log has TEXT
	if grep -qF -- "$2" "$WORK/h$1/agent.log" 2>/dev/null; then
		ok "h$1 logs '$2'"
	else
		bad "h$1's log has no '$2'"
	fi
}

# key_put I: writes a fresh key through host I; the scenario's data is then
# at stake (DATA=pending until key_check reads it back).
key_put() {
	KEY="faults/$CUR"
	VAL="v$RANDOM-$(date +%s)"
	ectl "$1" put "$KEY" "$VAL" >/dev/null || {
		bad "put $KEY through h$1 failed"
		return 1
	}
	DATA=pending
	ok "put $KEY=$VAL through h$1"
}
key_reads() { # I: a linearizable read of KEY through host I gives VAL
	local got
	got=$(ectl "$1" get "$KEY" --print-value-only) || return 1
	echo "h$1: $KEY = '$got'"
	[ "$got" = "$VAL" ]
}
# key_check I: KEY reads back through host I (waiting up to 30 s).
key_check() {
	if wait_for "$KEY reads back through h$1" 30 key_reads "$1"; then
		DATA=yes
		ok "the key written before the fault reads back through h$1"
	else
		DATA=no
		bad "the key written before the fault does not read back through h$1"
	fi
}
# roundtrip I J: a key put through host I reads back through host J (for
# scenarios where no cluster existed before the fault).
roundtrip() {
	local v="rt$RANDOM"
	ectl "$1" put "faults/rt/$CUR" "$v" >/dev/null || {
		bad "put through h$1 failed"
		return 1
	}
	eq "$(ectl "$2" get "faults/rt/$CUR" --print-value-only)" "$v" \
		"a key put through h$1 reads back through h$2"
}

# setup NAME NHOSTS: a fresh network of NHOSTS hosts (every process of the
# previous one killed) and a fresh work dir for the agents' data and logs.
setup() {
	zi_teardown >/dev/null 2>&1
	AGENT_PID=()
	DNSMASQ_PID=""
	SERVE_PID=""
	WORK=$ROOT/$(printf '%02d' "$SETUPS")-$1
	SETUPS=$((SETUPS + 1))
	mkdir -p "$WORK"
	READY="" # no reusable cluster
	net_up "$2"
}

declare -a R_NAME=() R_OUT=() R_DATA=() R_TIME=() R_WHY=()
SETUPS=1 READY="" CUR="" RUNNING=""

# scenario FUNCTION "TITLE": runs one scenario and records its outcome.
scenario() {
	local fn=$1 title=$2 start=$SECONDS rc=0 i
	if [ -n "${FAULTS:-}" ] && ! [[ $fn =~ $FAULTS ]]; then
		return 0
	fi
	CUR=${fn#s_}
	WHY="" DATA=n.a. KEY="" VAL=""
	printf '\n######## %s (%s)\n' "$title" "$fn"
	RUNNING=$title
	"$fn" || rc=1
	RUNNING=""
	[ -n "$WHY" ] && rc=1
	# A scenario that failed before it read its key back: is the key still
	# there, through any host that answers?
	if [ "$DATA" = pending ]; then
		DATA=no
		for ((i = 1; i <= NHOSTS; i++)); do
			if key_reads "$i" >/dev/null 2>&1; then
				DATA=yes
				break
			fi
		done
	fi
	R_NAME+=("$title")
	R_DATA+=("$DATA")
	R_TIME+=("$((SECONDS - start)) s")
	if [ "$rc" = 0 ]; then
		R_OUT+=(ok)
		R_WHY+=("")
		printf '######## ok: %s (%s s)\n' "$title" "$((SECONDS - start))"
	else
		R_OUT+=(FAIL)
		R_WHY+=("${WHY:-failed}")
		printf '######## FAIL: %s: %s\n' "$title" "${WHY:-failed}"
		dump_scenario
		READY="" # its cluster is not trusted by the next scenario
	fi
}

# dump_scenario: what runs in the hosts, and the agents' own lines (not
# etcd's, which share the log) of every log of the current setup.
dump_scenario() {
	local f i
	local -a pids
	for ((i = 1; i <= NHOSTS; i++)); do
		mapfile -t pids < <(ns_pids "$i")
		[ "${#pids[@]}" -gt 0 ] || continue
		printf '  --- processes in h%s\n' "$i"
		ps -o pid=,args= -p "$(
			IFS=,
			echo "${pids[*]}"
		)" | cut -c1-200 | sed 's/^/    /'
	done
	while IFS= read -r f; do
		printf '  --- %s (last %s zooinit lines)\n' "${f#"$ROOT"/}" "$LOG_TAIL"
		grep -a 'zooinit' "$f" | tail -n "$LOG_TAIL" | sed 's/^/    /'
	done < <(find "$WORK" -type f \( -name 'agent.log*' -o -name 'serve.log' \) | sort)
}

summary() {
	local i failed=0
	printf '\n%-32s %-8s %-12s %s\n' scenario outcome "data intact" time
	for i in "${!R_NAME[@]}"; do
		printf '%-32s %-8s %-12s %s\n' "${R_NAME[i]}" "${R_OUT[i]}" \
			"${R_DATA[i]}" "${R_TIME[i]}"
	done
	for i in "${!R_NAME[@]}"; do
		[ "${R_OUT[i]}" = ok ] && continue
		[ "$failed" = 0 ] && printf '\nfailures:\n'
		failed=$((failed + 1))
		printf '  %s: %s\n' "${R_NAME[i]}" "${R_WHY[i]}"
	done
	printf '\n%s of %s scenarios failed; the suite took %s s\n' "$failed" \
		"${#R_NAME[@]}" "$SECONDS"
	[ "$failed" = 0 ]
}

# ================================================================ helpers

# ns_kill9 I: SIGKILL to every process in host I (agent, etcd, seed, ...).
ns_kill9() {
	local -a pids
	mapfile -t pids < <(ns_pids "$1")
	# (the pause lets bash print its "Killed" job notice into /dev/null)
	{
		[ "${#pids[@]}" -eq 0 ] || kill -9 "${pids[@]}"
		sleep 0.3
	} 2>/dev/null
	say "kill -9 of everything in h$1: ${pids[*]:-nothing}"
}
ns_empty() { # I: no process is left in host I
	local p
	p=$(ns_pids "$1" | tr '\n' ' ')
	[ -z "$p" ] || {
		echo "still in h$1: $p"
		return 1
	}
}
no_etcd() { # I
	local p
	p=$(etcd_pids "$1" | tr '\n' ' ')
	[ -z "$p" ] || {
		echo "etcd in h$1: $p"
		return 1
	}
}
# reap I SECS: the killed agent I has exited (reaped, no longer tracked).
reap() {
	agent_wait "$1" "$2" 2>/dev/null || bad "agent h$1 still runs $2 s after it was killed"
}
# member_id I: host I's etcd member ID (decimal).
member_id() {
	ectl "$1" endpoint status -w json | grep -o '"member_id":[0-9]*' |
		head -n 1 | cut -d: -f2
}
# voters_are I NAMES: host I sees exactly these started voting members
# (names sorted, space separated) and no learner.
voters_are() {
	local got
	got=$(ectl "$1" member list) || return 1
	printf '%s\n' "$got"
	got=$(printf '%s\n' "$got" | awk -F', ' '$2 == "started" && $6 == "false" { print $3 }' |
		sort | tr '\n' ' ')
	[ "${got% }" = "$2" ] && ! ectl "$1" member list | grep -q ', true$'
}
# status_voters I N: `zooinit status` through host I exits 0 and counts N
# voters and no learner (a healthy learner is not a voter until promoted).
status_voters() {
	local out rc=0
	out=$(timeout -k 5 30 ip netns exec "$(host_ns "$1")" "$ZOOINIT" status \
		--endpoints "http://$(host_ip "$1"):2379" 2>&1) || rc=$?
	printf '%s\n' "$out"
	[ "$rc" = 0 ] && grep -q "^cluster [0-9a-f]*: $2 members ($2 voters), leader " <<<"$out" &&
		! grep -q '^learner ' <<<"$out"
}
# serve_quorum I...: each host answers /health and a linearizable read,
# and one of them is the leader.
serve_quorum() {
	local i
	for i in "$@"; do
		ectl "$i" endpoint health || return 1
		ectl "$i" get --consistency=l faults/none >/dev/null || return 1
	done
}
# leader_among I...: prints which of these hosts' members is the leader.
leader_among() {
	local i
	for i in "$@"; do
		ectl "$i" endpoint status -w fields 2>/dev/null | leader_endpoints | grep -q . && {
			echo "$i"
			return 0
		}
	done
	return 1
}
agents_alive() { # I...: the agents still run
	local i
	for i in "$@"; do agent_alive "$i" || return 1; done
}
# alive_all I...: the agents still run (a failure of the scenario if not).
alive_all() {
	local i
	for i in "$@"; do
		agent_alive "$i" || {
			bad "agent h$i exited"
			return 1
		}
	done
}

etcd_replaced() { # I OLD_PID: one etcd runs in host I, not OLD_PID
	local p
	p=$(etcd_pids "$1")
	echo "etcd in h$1: ${p:-none}"
	[ -n "$p" ] && [ "$p" != "$2" ]
}
cmdlines() { # I: the command lines of host I's processes
	local p
	for p in $(ns_pids "$1"); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null
		echo
	done
}
seed_runs() { cmdlines "$1" | grep -q -- '--name zooinit-seed'; }
runs_proxy() { # I: the one etcd process in host I is a grpc-proxy
	[ "$(etcd_pids "$1" | wc -l)" = 1 ] &&
		tr '\0' ' ' <"/proc/$(etcd_pids "$1")/cmdline" | grep -q 'grpc-proxy start'
}
# The token agents that say they are extras / that start an etcd member.
extra_logs() { grep -lF "the cluster is full without this host" "$WORK"/h[1-4]/agent.log 2>/dev/null; }
member_logs() { grep -lF "starting etcd as h" "$WORK"/h[1-4]/agent.log 2>/dev/null; }
all_planned() { [ "$(extra_logs | wc -l)" -ge 1 ] && [ "$(member_logs | wc -l)" -ge 3 ]; }
members_ok() { # the hosts in M see 3 started voters, answer, have a leader
	local i
	for i in "${M[@]}"; do
		[ "$(cluster_members "$i")" = 3 ] || return 1
		ectl "$i" endpoint health || return 1
	done
	leader_among "${M[@]}" >/dev/null
}
removed_by() { grep -lF "removing member h$1 " "$WORK"/h[1-4]/agent.log 2>/dev/null; }

# ---------------------------------------------------------------- DNS cluster

A_FLAGS=(--size 3 --health-interval 1 --stop-timeout 5)

# dns_cluster: a 3-member cluster of h1..h3 found through DNS, in a network
# of 4 hosts (h4 for the growing cluster). Reused when the scenario before
# left it healthy with its three agents running.
dns_cluster() {
	local i
	if [ "$READY" = dns ] && agents_alive 1 2 3 &&
		wait_for "the cluster of the scenario before is healthy" 30 cluster_healthy 3; then
		return 0
	fi
	say "a fresh 3-member cluster found through DNS"
	setup dns 4
	zone_std 3
	for i in 1 2 3; do run_agent "$i" "${A_FLAGS[@]}"; done
	waitok "3 voting members and one leader" 90 cluster_healthy 3 || return 1
	READY=dns
}

# ---------------------------------------------------------------- token seed

# token_seed NHOSTS: a fresh network whose last host serves a token of 3
# members; URL and TOK are set.
token_seed() {
	local n=$1
	setup token "$n"
	run_serve "$n" serve --size 3
	WAIT_IGNORE_AGENTS=1 waitok "discovery serve prints a token URL" 60 \
		serve_printed_url "$n" serve "$SERVE_PID" || return 1
	URL=$(serve_url "$n" serve) || {
		bad "discovery serve exited without a URL: $(tail -n 3 "$WORK/h$n/serve.log")"
		return 1
	}
	disc_parse "$URL"
	ok "token $URL (seed in h$n)"
}
# tok_agent I NAME ARGS...: an agent on the token of DISC (lib.sh's
# disc_parse): a v2 token URL, or on etcd 3.6+ the v3 endpoints and token.
tok_agent() {
	local i=$1 name=$2
	shift 2
	run_agent "$i" --sources token "${DISC[@]}" --name "$name" \
		--health-interval 1 --stop-timeout 5 "$@"
}
# expect_exit I SECS CODE: agent I exits with CODE within SECS.
expect_exit() {
	local start=$SECONDS
	agent_wait "$1" "$2" || {
		bad "agent h$1 still runs after $2 s (want exit $3)"
		return 1
	}
	eq "$AGENT_RC" "$3" "agent h$1 exits $3 (after $((SECONDS - start)) s)"
}
no_member() { # I: no etcd in host I, no member/ in its data dir
	no_etcd "$1" >/dev/null || {
		bad "an etcd runs in h$1: $(etcd_pids "$1" | tr '\n' ' ')"
		return 1
	}
	[ ! -e "$WORK/h$1/data/member" ] || {
		bad "h$1 has $WORK/h$1/data/member"
		return 1
	}
	ok "h$1 started no etcd member"
}

# ================================================================ scenarios

# kill -9 of h2's etcd: its agent starts it again; same agent, 3 voters.
s_kill_etcd() {
	dns_cluster || return 1
	key_put 1 || return 1
	local old agent
	old=$(etcd_pids 2)
	[ "$(printf '%s\n' "$old" | grep -c .)" = 1 ] || {
		bad "want one etcd in h2, found '$old'"
		return 1
	}
	agent=$(agent_pid 2)
	kill -9 "$old"
	say "kill -9 of h2's etcd (pid $old)"
	waitok "h2's agent starts a new etcd" 30 etcd_replaced 2 "$old" || return 1
	waitok "3 voting members and one leader again" 60 cluster_healthy 3 || return 1
	eq "$(agent_pid 2)" "$agent" "the same agent runs in h2" || return 1
	key_check 2
}

# kill -9 of h1's agent. etcd is started with PR_SET_PDEATHSIG(SIGTERM), so
# it stops with its agent (a cleanly stopped member, not an orphan that
# nobody supervises). The agent started again restarts the same member
# from its journal (DATA_DIR.zooinit/journal.json), without asking DNS.
s_kill_agent() {
	dns_cluster || return 1
	key_put 1 || return 1
	local id etcd
	id=$(member_id 1)
	etcd=$(etcd_pids 1)
	if [ -z "$id" ] || [ -z "$etcd" ]; then
		bad "no member ID / etcd in h1"
		return 1
	fi
	{
		kill -9 "$(agent_pid 1)"
		sleep 0.3
	} 2>/dev/null
	say "kill -9 of h1's agent (pid $(agent_pid 1)); its etcd was pid $etcd"
	reap 1 10 || return 1
	waitok "h1's etcd stops with its agent (PR_SET_PDEATHSIG)" 20 no_etcd 1 || return 1
	# etcd shares its agent's log: it got SIGTERM (a clean stop), not SIGKILL.
	# etcd 3.4 logs "received terminated signal", 3.5+ JSON with
	# "signal":"terminated".
	waitok "h1's etcd logs that it got SIGTERM" 10 grep -qE \
		'received terminated signal|"signal":"terminated"' \
		"$WORK/h1/agent.log" || return 1
	waitok "h2 and h3 keep a quorum" 30 serve_quorum 2 3 || return 1
	run_agent 1 "${A_FLAGS[@]}"
	waitlog 1 30 "journal found: restarting member h1" || return 1
	waitok "3 voting members and one leader again" 60 cluster_healthy 3 || return 1
	eq "$(member_id 1)" "$id" "h1 is the same member ($id)" || return 1
	key_check 1
}

# SIGTERM to every agent (an ordered stop: each stops its etcd and exits 0),
# then all started again: the same cluster, the data kept.
s_sigterm_all() {
	dns_cluster || return 1
	key_put 1 || return 1
	local i id
	id=$(cluster_id 1)
	for i in 1 2 3; do agent_signal "$i" TERM; done
	for i in 1 2 3; do
		agent_wait "$i" 30 || {
			bad "agent h$i still runs 30 s after SIGTERM"
			return 1
		}
		eq "$AGENT_RC" 0 "agent h$i exits 0 on SIGTERM" || return 1
		no_etcd "$i" || {
			bad "etcd still runs in h$i after its agent exited"
			return 1
		}
	done
	for i in 1 2 3; do run_agent "$i" "${A_FLAGS[@]}"; done
	waitok "3 voting members and one leader after the restart" 90 cluster_healthy 3 || return 1
	eq "$(cluster_id 2)" "$id" "the same cluster ID" || return 1
	key_check 3
}

# Full outage: SIGKILL to every process of h1..h3 at once (agents and
# etcds, nothing stops cleanly), then the agents started again.
s_full_outage() {
	dns_cluster || return 1
	key_put 2 || return 1
	local i id
	id=$(cluster_id 1)
	for i in 1 2 3; do ns_kill9 "$i"; done
	for i in 1 2 3; do reap "$i" 10 || return 1; done
	for i in 1 2 3; do waitok "nothing runs in h$i" 10 ns_empty "$i" || return 1; done
	for i in 1 2 3; do run_agent "$i" "${A_FLAGS[@]}"; done
	waitok "3 voting members and one leader after the outage" 90 cluster_healthy 3 || return 1
	for i in 1 2 3; do logged "$i" "journal found: restarting member h$i" || return 1; done
	eq "$(cluster_id 3)" "$id" "the same cluster ID" || return 1
	key_check 1
}

# h3 loses its data dir (agent stopped, data dir deleted, agent started):
# its stale member is removed, it joins as a learner and is promoted.
s_lost_data() {
	dns_cluster || return 1
	key_put 1 || return 1
	local old new
	old=$(member_id 3)
	agent_signal 3 TERM
	agent_wait 3 30 || {
		bad "agent h3 still runs 30 s after SIGTERM"
		return 1
	}
	rm -rf "$WORK/h3/data"
	say "h3's data dir deleted (its member was $old)"
	run_agent 3 "${A_FLAGS[@]}"
	waitlog 3 60 "removed this host's stale member" || return 1
	waitlog 3 90 "promoted to a voting member" || return 1
	waitok "3 voting members and one leader" 60 cluster_healthy 3 || return 1
	waitok "the voters are h1 h2 h3, no learner" 30 voters_are 1 "h1 h2 h3" || return 1
	waitok "zooinit status: 3 voters, no learner" 30 status_voters 1 3 || return 1
	new=$(member_id 3)
	if [ -z "$new" ] || [ "$new" = "$old" ]; then
		bad "h3's member ID: got '$new', want a new one (old $old)"
		return 1
	fi
	ok "h3 is a new member ($new, was $old)"
	key_check 3
}

# The zone grows at runtime: h4 is published and its agent started with
# --size 4; it joins the running cluster as a learner and is promoted.
s_size_grows() {
	dns_cluster || return 1
	key_put 1 || return 1
	zone_std 4
	run_agent 4 --size 4 --health-interval 1 --stop-timeout 5
	waitlog 4 60 "runs without this host: added as learner" || return 1
	waitlog 4 90 "promoted to a voting member" || return 1
	waitok "4 voting members and one leader" 60 cluster_healthy 4 || return 1
	waitok "the voters are h1..h4, no learner" 30 voters_are 1 "h1 h2 h3 h4" || return 1
	key_check 4
	READY="" # 4 members now
}

# h3's link is down before any agent starts: h1 and h2 form the cluster (2
# of 3 are a quorum) while h3's agent retries DNS; ~10 s later the link
# comes up and h3 joins. h3's member is in the cluster's initial membership
# but never started, so h3 should take the late-start path ("lists this
# member, which never started"), not the lost-data path (remove the member,
# rejoin as a learner), which is for a member that did start.
s_partition() {
	setup partition 3
	zone_std 3
	local i t0
	ip -n "$(host_ns 3)" link set eth0 down
	say "h3's eth0 is down"
	t0=$SECONDS
	for i in 1 2 3; do
		run_agent "$i" --size 3 --resolve-timeout 120 --health-interval 1 --stop-timeout 5
	done
	waitok "h1 and h2 form a cluster without h3" 90 serve_quorum 1 2 || return 1
	key_put 1 || return 1
	ectl 1 member list | sed 's/^/    member list while h3 is cut off: /'
	while [ $((SECONDS - t0)) -lt 10 ]; do sleep 0.5; done
	alive_all 3 || return 1
	no_etcd 3 >/dev/null || say "note: h3 started etcd while partitioned"
	ip -n "$(host_ns 3)" link set eth0 up
	say "h3's eth0 is up again ($((SECONDS - t0)) s after the agents started)"
	waitok "3 voting members and one leader" 120 cluster_healthy 3 || return 1
	key_check 3 || return 1
	say "h3 decided: $(grep -m1 -E 'lists this member|stale member|added as learner|no peer is in a running' "$WORK/h3/agent.log")"
	if grep -qF "removed this host's stale member" "$WORK/h3/agent.log"; then
		bad "h3 never started a member, yet its agent took the lost-data path: '$(grep -m1 -F "stale member" "$WORK/h3/agent.log" | cut -d' ' -f2-)' (the never-started member, which etcd lists by its name without client URLs, was taken for a started one)"
		return 1
	fi
	logged 3 "runs and lists this member, which never started"
}

# The same with a discovery token: h3 registers, then its link goes down;
# h1 and h2 register (3 of 3) and form the cluster without it; the link
# comes up ~10 s later and h3 should start its never-started member.
s_partition_token() {
	token_seed 5 || return 1
	local i t0
	tok_agent 3 h3 --resolve-timeout 120
	waitlog 3 30 "registered h3=http://$(host_ip 3):2380 under token $TOK" || return 1
	ip -n "$(host_ns 3)" link set eth0 down
	say "h3 registered; its eth0 is down"
	t0=$SECONDS
	for i in 1 2; do tok_agent "$i" "h$i" --resolve-timeout 120; done
	waitok "h1 and h2 form a cluster without h3" 90 serve_quorum 1 2 || return 1
	key_put 1 || return 1
	while [ $((SECONDS - t0)) -lt 10 ]; do sleep 0.5; done
	alive_all 3 || return 1
	ip -n "$(host_ns 3)" link set eth0 up
	say "h3's eth0 is up again ($((SECONDS - t0)) s after it went down)"
	waitok "3 voting members and one leader" 120 cluster_healthy 3 || return 1
	key_check 3
}

# The DNS server is down when the agents start; it comes up ~5 s later.
s_dns_down() {
	setup dnsdown 3
	zone_std 3
	_dnsmasq_stop
	say "dnsmasq stopped"
	local i t0=$SECONDS
	for i in 1 2 3; do
		run_agent "$i" --size 3 --resolve-timeout 120 --health-interval 1 --stop-timeout 5
	done
	for i in 1 2 3; do
		waitlog "$i" 20 "DNS lookup failed" || return 1
	done
	while [ $((SECONDS - t0)) -lt 5 ]; do sleep 0.5; done
	alive_all 1 2 3 || return 1
	for i in 1 2 3; do no_member "$i" || return 1; done
	zone_std 3
	say "dnsmasq serves again ($((SECONDS - t0)) s after the agents started)"
	waitok "3 voting members and one leader" 90 cluster_healthy 3 || return 1
	roundtrip 1 3
}

# The zone publishes h1 and h2 only while every agent expects --size 3;
# the agents wait (progress lines); once h3 is published the cluster forms.
s_srv_partial() {
	setup partial 3
	local -a lines
	mapfile -t lines < <(zone_lines 2)
	dns_zone "${lines[@]}"
	local i t0=$SECONDS
	for i in 1 2 3; do
		run_agent "$i" --size 3 --resolve-timeout 120 --health-interval 1 --stop-timeout 5
	done
	for i in 1 2 3; do
		waitlog "$i" 20 "peers 2/3 resolved" || return 1
	done
	while [ $((SECONDS - t0)) -lt 5 ]; do sleep 0.5; done
	alive_all 1 2 3 || return 1
	for i in 1 2 3; do no_member "$i" || return 1; done
	zone_std 3
	say "h3 published ($((SECONDS - t0)) s after the agents started)"
	waitok "3 voting members and one leader" 90 cluster_healthy 3 || return 1
	roundtrip 2 3
}

# h1 under _etcd-server-ssl, h2 and h3 under _etcd-server: every agent
# exits 100 with "scheme mismatch" and starts no etcd.
s_scheme_mismatch() {
	setup scheme 3
	dns_zone \
		"srv-host=_etcd-server-ssl._tcp.$ZONE,h1.$ZONE,2380,0,10" \
		"host-record=h1.$ZONE,$(host_ip 1)" \
		"srv-host=_etcd-server._tcp.$ZONE,h2.$ZONE,2380,0,10" \
		"host-record=h2.$ZONE,$(host_ip 2)" \
		"srv-host=_etcd-server._tcp.$ZONE,h3.$ZONE,2380,0,10" \
		"host-record=h3.$ZONE,$(host_ip 3)"
	local i
	for i in 1 2 3; do run_agent "$i" --size 3; done
	for i in 1 2 3; do
		expect_exit "$i" 30 100 || return 1
		logged "$i" "scheme mismatch: _etcd-server-ssl._tcp.$ZONE (https) lists h1.$ZONE" || return 1
		no_member "$i" || return 1
	done
}

# A token cluster of h1..h3 runs; a fourth host starts with --name h2: it
# exits 100 (names must be unique) and the cluster is unaffected.
s_dup_name() {
	token_seed 5 || return 1
	local i
	for i in 1 2 3; do tok_agent "$i" "h$i"; done
	waitok "3 voting members and one leader" 90 cluster_healthy 3 || return 1
	READY=token
	key_put 1 || return 1
	tok_agent 4 h2
	expect_exit 4 40 100 || return 1
	logged 4 "member h2 already registered under token $TOK with peer URL http://$(host_ip 2):2380; names must be unique" || return 1
	no_member 4 || return 1
	waitok "the cluster is still healthy" 30 cluster_healthy 3 || return 1
	waitok "the voters are h1 h2 h3" 30 voters_are 1 "h1 h2 h3" || return 1
	key_check 2
}

# A host that lost its data dir starts again with the token it bootstrapped
# with: exit 100 "was used to bootstrap cluster"; h1 and h2 keep serving.
s_token_reused() {
	local i
	if [ "$READY" != token ] || ! agents_alive 1 2 3 ||
		! wait_for "the token cluster of the scenario before is healthy" 30 cluster_healthy 3; then
		token_seed 5 || return 1
		for i in 1 2 3; do tok_agent "$i" "h$i"; done
		waitok "3 voting members and one leader" 90 cluster_healthy 3 || return 1
	fi
	READY=""
	key_put 1 || return 1
	agent_signal 3 TERM
	agent_wait 3 30 || {
		bad "agent h3 still runs 30 s after SIGTERM"
		return 1
	}
	rm -rf "$WORK/h3/data"
	tok_agent 3 h3
	expect_exit 3 40 100 || return 1
	logged 3 "token $TOK was used to bootstrap cluster" || return 1
	no_member 3 || return 1
	waitok "h1 and h2 keep a quorum" 30 serve_quorum 1 2 || return 1
	key_check 2
}

# Four agents on a token of 3: three voters and one extra running a
# grpc-proxy that serves the cluster's data. (--remove-after is set for the
# next scenario, which reuses this cluster.)
X="" M=()
s_one_extra() {
	token_seed 5 || return 1
	local i
	for i in 1 2 3 4; do
		tok_agent "$i" "h$i" --remove-after 5
	done
	waitok "every agent has a plan" 60 all_planned || return 1
	eq "$(extra_logs | wc -l)" 1 "one agent is an extra" || return 1
	eq "$(member_logs | wc -l)" 3 "three agents start a member" || return 1
	X=$(extra_logs)
	X=${X#"$WORK"/h}
	X=${X%%/*}
	M=()
	for i in 1 2 3 4; do [ "$i" = "$X" ] || M+=("$i"); done
	say "extra: h$X; members: $(printf 'h%s ' "${M[@]}")"
	waitok "3 voting members and one leader" 90 members_ok || return 1
	waitlog "$X" 60 "proxy healthy: serving clients for the cluster of 3" || return 1
	key_put "${M[0]}" || return 1
	key_check "$X" || return 1
	if ! runs_proxy "$X"; then
		bad "the extra h$X runs no grpc-proxy"
		return 1
	fi
	ok "the extra h$X serves reads through its grpc-proxy"
	READY=extra
}

# A member (not the leader) of that cluster dies, agent and etcd: after
# remove_after (5 s) the leader's agent removes it, the extra joins as a
# learner and is promoted; three voters again, the key reads through the
# former extra.
s_remove_after() {
	if [ "$READY" != extra ] || ! agents_alive 1 2 3 4; then
		READY=""
		s_one_extra || return 1
		DATA=n.a.
	fi
	READY=""
	key_put "${M[0]}" || return 1
	local L V i t0 rest=()
	L=$(leader_among "${M[@]}") || {
		bad "no leader among h${M[*]}"
		return 1
	}
	for i in "${M[@]}"; do [ "$i" = "$L" ] || V=$i; done
	for i in "${M[@]}"; do [ "$i" = "$V" ] || rest+=("$i"); done
	say "leader h$L; the victim is h$V; the extra h$X"
	t0=$SECONDS
	ns_kill9 "$V"
	reap "$V" 10 || return 1
	waitok "an agent removes h$V" 60 removed_by "$V" || return 1
	say "$(grep -hF "removing member h$V " "$WORK"/h[1-4]/agent.log | head -n 1) [$(removed_by "$V" | head -n 1 | sed "s|$WORK/||")]"
	say "removed $((SECONDS - t0)) s after the kill"
	waitlog "$X" 60 "this extra joins it" || return 1
	waitlog "$X" 90 "promoted to a voting member" || return 1
	say "the extra h$X is a voter $((SECONDS - t0)) s after the kill"
	local want
	want=$(printf 'h%s\n' "${rest[@]}" "$X" | sort | tr '\n' ' ')
	waitok "the voters are ${want% }" 60 voters_are "${rest[0]}" "${want% }" || return 1
	waitok "the former extra h$X answers as a member" 30 serve_quorum "$X" "${rest[@]}" || return 1
	key_check "$X"
}

# The seed runs on h1 (started by h1's agent, kept with --seed-keep keep);
# after the cluster formed, everything in h1 is killed: the seed and h1's
# member die together; h2 and h3 keep a quorum and serve the key.
s_seed_dies() {
	setup seed 3
	local i ep ready
	ep="http://$(host_ip 1):4001"
	# The seed serves v2 token URLs where etcd has the v2 API (3.4, 3.5),
	# else the v3 layout.
	if etcd_has_v2; then
		URL="$ep/v2/keys/_etcd/registry/tokseed"
		ready="seed ready: discovery token $URL (size 3)"
	else
		URL="--discovery-endpoints $ep --discovery-token tokseed"
		ready="seed ready: discovery token tokseed at $ep (size 3, v3 keys)"
	fi
	disc_parse "$URL"
	for i in 1 2 3; do
		tok_agent "$i" "h$i" --size 3 --seed-keep keep --seed-data-dir "$WORK/h$i/seed"
	done
	waitlog 1 30 "$ready" || return 1
	waitok "3 voting members and one leader" 90 cluster_healthy 3 || return 1
	key_put 2 || return 1
	seed_runs 1 || {
		bad "no seed etcd (zooinit-seed) runs in h1"
		return 1
	}
	ns_kill9 1
	reap 1 10 || return 1
	waitok "nothing runs in h1" 10 ns_empty 1 || return 1
	waitok "h2 and h3 keep a quorum" 60 serve_quorum 2 3 || return 1
	sleep 3
	alive_all 2 3 || return 1
	key_check 3 || return 1
	eq "$(cluster_members 2)" 3 "h1 stays a member (remove_after is off)"
}

# ================================================================ run

# Stopped from outside (run.sh's time limit, Ctrl-C): the table so far, with
# the scenario that was running marked as interrupted; then the EXIT trap
# cleans up.
interrupted() {
	trap '' INT TERM
	if [ -n "$RUNNING" ]; then
		R_NAME+=("$RUNNING") R_OUT+=(FAIL) R_DATA+=("${DATA/pending/no}") R_TIME+=(-)
		R_WHY+=("interrupted (signal $1)")
	fi
	summary
	exit "$2"
}
trap 'interrupted INT 130' INT
trap 'interrupted TERM 143' TERM

scenario s_kill_etcd "kill -9 etcd"
scenario s_kill_agent "kill -9 the agent"
scenario s_sigterm_all "SIGTERM all agents, start"
scenario s_full_outage "full outage (SIGKILL all)"
scenario s_lost_data "lost data dir"
scenario s_size_grows "size grows at runtime"
scenario s_partition "partitioned during bootstrap"
scenario s_partition_token "partitioned during boot (token)"
scenario s_dns_down "DNS server down at boot"
scenario s_srv_partial "SRV set partially published"
scenario s_scheme_mismatch "scheme mismatch"
scenario s_dup_name "duplicate name (token)"
scenario s_token_reused "token reused"
scenario s_one_extra "one extra agent (proxy)"
scenario s_remove_after "unreachable > remove_after"
scenario s_seed_dies "seed host dies after boot"

summary
