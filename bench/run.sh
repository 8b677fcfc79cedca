#!/bin/bash
# bench/run.sh — zooinit's bootstrap benchmark (make bench). See
# bench/README.md for what is measured and how.
#
# usage: bench/run.sh ZOOINIT_BINARY      (as root: network namespaces)
#
# On the private namespace network of tests/integ/lib.sh (hosts h1..hMAX on
# 10.99.0.0/24, dnsmasq serving zl.test on 10.99.0.53, plus one extra host
# for the discovery seed) it measures, for every N in BENCH_SIZES and
# BENCH_RUNS runs each, the time from launch to a healthy N-member cluster
# for four ways of bootstrapping it, interleaved round-robin per run:
#
#   static             hand-written etcd commands, static --initial-cluster
#   zooinit-dns        zooinit bootstrap --domain zl.test --dns-server ... --size N
#   etcd-v2-discovery  etcd --discovery http://SEED:4001/v2/keys/_etcd/registry/T
#   zooinit-token      zooinit bootstrap --sources token --discovery URL --name hI --size N
#
# then, on an idle 3-member zooinit-dns cluster, the agent's wakeups per
# second and memory (VmRSS, Pss, Anonymous), and the time from kill -9 of
# one member's etcd until that member answers health again, for a first
# crash and for a second crash in a row, and on a cluster whose etcds run
# with shorter raft timings, a kill -9 of the leader's (bench/agent.sh);
# then one idle agent's memory as it runs 0 to 16 services, over http
# and https (bench/memory.sh); then the scale case: SCALE_V voters +
# EXTRAS extras (grpc-proxies) on the token path, until every one serves
# reads (bench/scale.sh).
#
# Environment (defaults in brackets; the short names RUNS, NS and EXTRAS
# are read when the BENCH_ one is not set, so `make bench RUNS=1 NS=3`):
#   BENCH_OUT           result directory [build/bench]
#   BENCH_RUNS, RUNS    runs per path and size [20]
#   BENCH_SIZES, NS     cluster sizes, space or comma separated [3 5 7]
#   BENCH_PATHS         paths to run, or none [static zooinit-dns etcd-v2-discovery zooinit-token]
#   BENCH_TIMEOUT       seconds one run may take before it counts as failed [60]
#   BENCH_POLL          seconds between health polls [0.05]
#   BENCH_IDLE          seconds over which wakeups are counted [30]
#   BENCH_RECOVER_RUNS  crash runs (a first and a second kill -9 each)
#                       [BENCH_RUNS]; 0 skips the agent phase
#   BENCH_STABLE        seconds a member's etcd must have run before it is
#                       killed again (zooinit resets its restart backoff
#                       after a long run) [62]
#   BENCH_LEADER_ARGS   etcd_args of the leader phase's cluster (entries
#                       split at ",--"), whose leader is killed
#                       BENCH_RECOVER_RUNS times; empty skips it
#                       ["--heartbeat-interval=25,--election-timeout=250"]
#   BENCH_MEM_SERVICES  service counts of the memory case ["0 1 5 10 16"];
#                       empty skips it
#   BENCH_MEM_IDLE      seconds the memory case's agent idles before it is
#                       measured [15]
#   BENCH_EXTRAS, EXTRAS  extras in the scale case [200]; 0 skips it
#   BENCH_SCALE_VOTERS  voters in the scale case [7]
#   BENCH_SCALE_TIMEOUT seconds until every host of the scale case must
#                       serve reads [180]
#   BENCH_SCALE_POLL    seconds between the scale case's polls [0.2]
#   BENCH_SCALE_MB      MB of MemAvailable to demand per scale host [32]
#   BENCH_INSTALL       1 installs gnuplot-nox with apt-get when gnuplot is
#                       missing and we are root; 0 never [1]
#   BENCH_LOGS          1 keeps every run's logs in BENCH_OUT/logs/ [0]
#
# Output: BENCH_OUT/results.txt (key=value lines), BENCH_OUT/table.md (the
# same side by side; also on stdout), BENCH_OUT/raw.tsv (one row per run),
# BENCH_OUT/bootstrap.png, BENCH_OUT/progress.log, and the logs of failed
# runs in BENCH_OUT/failed/. Progress goes to stderr. Exit 0 when every
# case has at least one successful run, 1 otherwise, 2 on a usage or setup
# error.
set -u

here=$(cd "$(dirname "$0")" && pwd)

if [ $# -ne 1 ]; then
	echo "usage: $0 ZOOINIT_BINARY" >&2
	exit 2
fi
if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (it builds network namespaces); run it as root" >&2
	exit 2
fi
bin=$1
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
[ -x "$bin" ] || {
	echo "bench: $bin is not an executable file" >&2
	exit 2
}
for c in etcd etcdctl curl jq ip timeout; do
	command -v "$c" >/dev/null || {
		echo "bench: missing program: $c" >&2
		exit 2
	}
done

RUNS=${BENCH_RUNS:-${RUNS:-20}}
SIZES=${BENCH_SIZES:-${NS:-3 5 7}}
SIZES=${SIZES//,/ }
PATHS=${BENCH_PATHS:-static zooinit-dns etcd-v2-discovery zooinit-token}
[ "$PATHS" = none ] && PATHS="" # only the agent, memory and scale phases
RUN_TIMEOUT=${BENCH_TIMEOUT:-60}
POLL=${BENCH_POLL:-0.05}
IDLE_S=${BENCH_IDLE:-30}
RECOVER_RUNS=${BENCH_RECOVER_RUNS:-$RUNS}
STABLE_S=${BENCH_STABLE:-62}
OUT=${BENCH_OUT:-build/bench}
EXTRAS=${BENCH_EXTRAS:-${EXTRAS:-200}}
SCALE_V=${BENCH_SCALE_VOTERS:-7}
SCALE_TIMEOUT=${BENCH_SCALE_TIMEOUT:-180}
SCALE_POLL=${BENCH_SCALE_POLL:-0.2}
SCALE_MB=${BENCH_SCALE_MB:-32}
LEADER_ARGS=${BENCH_LEADER_ARGS---heartbeat-interval=25,--election-timeout=250}
MEM_SERVICES=${BENCH_MEM_SERVICES-0 1 5 10 16}
MEM_SERVICES=${MEM_SERVICES//,/ }
MEM_IDLE_S=${BENCH_MEM_IDLE:-15}

isnum() { case $1 in '' | *[!0-9]*) return 1 ;; esac; }
for v in RUNS RUN_TIMEOUT IDLE_S RECOVER_RUNS STABLE_S EXTRAS SCALE_V SCALE_TIMEOUT SCALE_MB MEM_IDLE_S; do
	isnum "${!v}" || {
		echo "bench: $v must be a whole number, not '${!v}'" >&2
		exit 2
	}
done
[ "$RUNS" -ge 1 ] || {
	echo "bench: BENCH_RUNS must be at least 1" >&2
	exit 2
}
for v in POLL SCALE_POLL; do
	case ${!v} in '' | *[!0-9.]*)
		echo "bench: $v must be a number of seconds, not '${!v}'" >&2
		exit 2
		;;
	esac
done
MAXN=0
for n in $SIZES; do
	if ! isnum "$n" || [ "$n" -lt 1 ] || [ "$n" -gt 49 ]; then
		echo "bench: BENCH_SIZES: '$n' is not a size from 1 to 49" >&2
		exit 2
	fi
	[ "$n" -gt "$MAXN" ] && MAXN=$n
done
for s in $MEM_SERVICES; do
	if ! isnum "$s" || [ "$s" -gt 16 ]; then
		echo "bench: BENCH_MEM_SERVICES: '$s' is not a count from 0 to 16 (the most services a config holds)" >&2
		exit 2
	fi
done
[ "$MAXN" -gt 0 ] || {
	echo "bench: BENCH_SIZES is empty" >&2
	exit 2
}
[ "$RECOVER_RUNS" -gt 0 ] && [ "$MAXN" -lt 3 ] && MAXN=3 # the agent phase uses 3 hosts
# The scale hosts follow the seed's host; host_ip below maps host 253 to
# the last address, 10.99.0.254.
if [ "$EXTRAS" -gt 0 ] && { [ "$SCALE_V" -lt 1 ] || [ $((MAXN + 1 + SCALE_V + EXTRAS)) -gt 253 ]; }; then
	echo "bench: the scale case needs 1 to $((252 - MAXN - EXTRAS)) voters and at most $((252 - MAXN - SCALE_V)) extras" >&2
	exit 2
fi
for p in $PATHS; do
	case $p in static | zooinit-dns | etcd-v2-discovery | zooinit-token) ;;
	*)
		echo "bench: BENCH_PATHS: unknown path '$p'" >&2
		exit 2
		;;
	esac
done

# The plot needs gnuplot; install it before anything is measured.
if ! command -v gnuplot >/dev/null && [ "${BENCH_INSTALL:-1}" = 1 ] &&
	command -v apt-get >/dev/null; then
	echo "bench: installing gnuplot-nox for the plot (BENCH_INSTALL=0 skips this)" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends gnuplot-nox >&2 ||
		{ apt-get update -q >&2 && apt-get install -y -q --no-install-recommends gnuplot-nox >&2; } ||
		echo "bench: could not install gnuplot-nox; there will be no plot" >&2
elif ! command -v gnuplot >/dev/null; then
	echo "bench: gnuplot is not installed, so there will be no plot; install it (Debian: apt-get install gnuplot-nox) or run with BENCH_INSTALL=1 on a machine with apt-get" >&2
fi

mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd)
rm -rf "$OUT/failed" "$OUT/logs"
: >"$OUT/results.txt"
: >"$OUT/progress.log"
printf '# kind\tpath\tn\trun\tseconds\tstatus\tdetail\n' >"$OUT/raw.tsv"

# The network, the zone and the cleanup come from the integration tests'
# library; its EXIT trap kills everything in our namespaces and removes
# $WORK (KEEP=1 keeps it).
export ZI_PREFIX=zb$$
# Every launched etcd and agent logs in UTC, as `date` below reads the
# launch time (etcd_up compares the two).
export TZ=UTC
# shellcheck disable=SC2034 # read by lib.sh
ZOOINIT=$bin
# shellcheck source-path=SCRIPTDIR source=../tests/integ/lib.sh
. "$here/../tests/integ/lib.sh"
# lib.sh's hosts stop at 50; the scale case needs more, so host numbers
# from 53 on skip the DNS server's address.
host_ip() {
	if [ "$1" -ge 53 ]; then printf '%s\n' "$NET.$(($1 + 1))"; else printf '%s\n' "$NET.$1"; fi
}
# shellcheck source-path=SCRIPTDIR source=agent.sh
. "$here/agent.sh"
# shellcheck source-path=SCRIPTDIR source=memory.sh
. "$here/memory.sh"
# shellcheck source-path=SCRIPTDIR source=scale.sh
. "$here/scale.sh"
# Run a private copy: others may rebuild the binary while we measure.
cp "$bin" "$WORK/zooinit" || die "cannot copy $bin"
Z=$WORK/zooinit

SEED=$((MAXN + 1)) # the discovery seed's host
SEED_NS=$(host_ns "$SEED")
SEED_IP=$(host_ip "$SEED")
SEED_URL=http://$SEED_IP:4001
PD=$WORK/poll
RD=$WORK/run
mkdir -p "$PD" "$RD"
declare -a LPID=() # what the current run launched

progress() { printf '# %s\n' "$*" | tee -a "$OUT/progress.log" >&2; }
emit() { printf '%s\n' "$*" | tee -a "$OUT/results.txt"; }

# A monotonic clock in nanoseconds: perl's CLOCK_MONOTONIC when perl has
# Time::HiRes (Debian's perl does), else date +%s%N (the wall clock).
if perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e 1 2>/dev/null; then
	CLOCK="CLOCK_MONOTONIC (perl Time::HiRes)"
	now_ns() {
		perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC \
			-e 'printf "%.0f\n", clock_gettime(CLOCK_MONOTONIC) * 1e9'
	}
else
	CLOCK="CLOCK_REALTIME (date +%s%N)"
	now_ns() { date +%s%N; }
fi
secs() { # NS_FROM NS_TO: seconds with 3 decimals
	local d=$(($2 - $1))
	printf '%d.%03d\n' $((d / 1000000000)) $((d % 1000000000 / 1000000))
}

# ---------------------------------------------------------------- checks

# poll_cluster N [I...]: one round of parallel HTTP requests from the
# seed's host to every member (hosts I..., default 1..N) (GET /health, POST /v3/maintenance/status, POST
# /v3/cluster/member/list). Returns 0 when every member is healthy, every
# member lists N started voting members (and no others), all members name
# the same leader and exactly one member is it. Sets POLL_NS to the clock
# right after the replies came in. Bounded: 1 s per request, all at once.
poll_cluster() {
	local n=$1 i b ip
	local -a args=(--parallel --parallel-immediate --parallel-max 64)
	local -a c=(-s --max-time 1) hosts=("${@:2}")
	[ "${#hosts[@]}" -gt 0 ] || for ((i = 1; i <= n; i++)); do hosts+=("$i"); done
	rm -f "$PD"/*
	for i in "${hosts[@]}"; do
		[ "${#args[@]}" -gt 4 ] && args+=(--next)
		ip=$(host_ip "$i")
		args+=("${c[@]}" -o "$PD/h$i" "http://$ip:2379/health" --next)
		args+=("${c[@]}" -X POST -d '{}' -o "$PD/s$i" "http://$ip:2379/v3/maintenance/status" --next)
		args+=("${c[@]}" -X POST -d '{}' -o "$PD/m$i" "http://$ip:2379/v3/cluster/member/list")
	done
	ip netns exec "$SEED_NS" curl "${args[@]}" >/dev/null 2>&1
	POLL_NS=$(now_ns)
	for i in "${hosts[@]}"; do
		[ -s "$PD/h$i" ] || return 1
		b=$(<"$PD/h$i")
		[[ $b == *'"health":"true"'* ]] || return 1
	done
	jq -n -e --argjson n "$n" '
		[inputs] as $all
		| [$all[] | select(has("members"))] as $ml
		| [$all[] | select(has("header") and (has("members") | not))] as $st
		| [$st[] | .leader // "0"] as $leaders
		| ($ml | length) == $n and ($st | length) == $n
		  and all($ml[]; (.members | length) == $n
		      and ([.members[] | select((.name // "") != ""
		          and ((.clientURLs // []) | length) > 0
		          and ((.isLearner // false) | not))] | length) == $n)
		  and ($leaders | unique | length) == 1 and $leaders[0] != "0"
		  and ([$st[] | select(.header.member_id == .leader)] | length) == 1
	' "$PD"/m* "$PD"/s* >/dev/null 2>&1
}

# poll_member I: member I answers GET /health with true. Sets POLL_NS.
poll_member() {
	local b
	b=$(ip netns exec "$SEED_NS" curl -s --max-time 1 "http://$NET.$1:2379/health" 2>/dev/null)
	POLL_NS=$(now_ns)
	[[ $b == *'"health":"true"'* ]]
}

# etcdctl_health I...: `etcdctl endpoint health` against members I...,
# from the seed's host; every one must answer healthy. Bounded to 10 s.
etcdctl_health() {
	local eps="" i
	for i in "$@"; do eps+=${eps:+,}http://$(host_ip "$i"):2379; done
	timeout -k 2 10 ip netns exec "$SEED_NS" env ETCDCTL_API=3 etcdctl \
		--endpoints "$eps" --dial-timeout=2s --command-timeout=3s \
		endpoint health >"$PD/etcdctl.out" 2>&1
}

# wait_cluster N DEADLINE_NS: polls every BENCH_POLL s until the cluster of
# hosts 1..N is healthy (poll_cluster, then etcdctl endpoint health on every
# member) or DEADLINE_NS passes. On success DONE_NS is the clock right after
# the successful poll's replies. Returns 1 on timeout, 3 when a launched
# process exited (WHY says which).
wait_cluster() {
	local n=$1 deadline=$2 p i
	local -a hosts=()
	for ((i = 1; i <= n; i++)); do hosts+=("$i"); done
	WHY=""
	while :; do
		if poll_cluster "$n" && etcdctl_health "${hosts[@]}"; then
			DONE_NS=$POLL_NS
			return 0
		fi
		for p in "${!LPID[@]}"; do
			if ! kill -0 "${LPID[p]}" 2>/dev/null; then
				WHY="h$p (pid ${LPID[p]}) exited"
				return 3
			fi
		done
		[ "$(now_ns)" -lt "$deadline" ] || {
			WHY="not healthy after $RUN_TIMEOUT s"
			return 1
		}
		sleep "$POLL"
	done
}

# ---------------------------------------------------------------- processes

# kill_hosts [FROM TO]: SIGKILL to every process in hosts FROM..TO
# (default 1..MAXN), until none is left (bounded to 15 s). (Launched
# processes are disowned, so bash reaps them without printing "Killed"
# for each.)
kill_hosts() {
	local i n from=${1:-1} to=${2:-$MAXN}
	local -a pids
	for ((n = 0; n < 75; n++)); do
		pids=()
		for ((i = from; i <= to; i++)); do
			mapfile -t -O "${#pids[@]}" pids < <(ns_pids "$i")
		done
		[ "${#pids[@]}" -eq 0 ] && break
		kill -KILL "${pids[@]}" 2>/dev/null
		sleep 0.2
	done
	[ "${#pids[@]}" -eq 0 ] || die "processes left in the hosts after 15 s: ${pids[*]}"
	LPID=()
}

# launch PATH N RUNID [URL]: starts the N members of one run in hosts 1..N
# (data in $RD/hI, output in $RD/hI.log); LPID[I] is what host I runs.
launch() {
	local path=$1 n=$2 id=$3 url=${4:-} i ip ic=""
	local -a cmd
	for ((i = 1; i <= n; i++)); do ic+=${ic:+,}h$i=http://$NET.$i:2380; done
	for ((i = 1; i <= n; i++)); do
		ip=$(host_ip "$i")
		case $path in
		static)
			cmd=(etcd --name "h$i" --data-dir "$RD/h$i"
				--listen-peer-urls "http://$ip:2380" --initial-advertise-peer-urls "http://$ip:2380"
				--listen-client-urls "http://$ip:2379" --advertise-client-urls "http://$ip:2379"
				--initial-cluster "$ic" --initial-cluster-token "bench-$id"
				--initial-cluster-state new) ;;
		etcd-v2-discovery)
			cmd=(etcd --name "h$i" --data-dir "$RD/h$i"
				--listen-peer-urls "http://$ip:2380" --initial-advertise-peer-urls "http://$ip:2380"
				--listen-client-urls "http://$ip:2379" --advertise-client-urls "http://$ip:2379"
				--discovery "$url") ;;
		zooinit-dns)
			cmd=("$Z" bootstrap --domain "$ZONE" --dns-server "$DNS_IP:$DNS_PORT"
				--size "$n" --data-dir "$RD/h$i") ;;
		zooinit-token)
			cmd=("$Z" bootstrap --sources token --discovery "$url" --name "h$i"
				--size "$n" --data-dir "$RD/h$i") ;;
		esac
		ip netns exec "$(host_ns "$i")" "${cmd[@]}" >"$RD/h$i.log" 2>&1 </dev/null &
		LPID[i]=$!
		disown "$!"
	done
}

# new_token N: a fresh discovery token of size N in the seed; prints its URL.
new_token() {
	local u
	u=$(timeout -k 2 15 ip netns exec "$SEED_NS" "$Z" discovery new --size "$1" \
		--endpoint "$SEED_URL" 2>>"$WORK/seed/tokens.log") || return 1
	u=$(printf '%s\n' "$u" | grep -m1 "^$SEED_URL/v2/keys/_etcd/registry/")
	[ -n "$u" ] && printf '%s\n' "$u"
}

# shellcheck disable=SC2317 # called through wait_for
seed_up() { # the seed answers on the v2 keys API (or has exited)
	kill -0 "$SEED_PID" 2>/dev/null || return 0
	ip netns exec "$SEED_NS" curl -sf --max-time 2 "$SEED_URL/v2/keys/" | grep -q '"node"'
}
start_seed() {
	mkdir -p "$WORK/seed"
	ip netns exec "$SEED_NS" etcd --name seed --data-dir "$WORK/seed/data" \
		--listen-client-urls "$SEED_URL" --advertise-client-urls "$SEED_URL" \
		--listen-peer-urls "http://$SEED_IP:7001" \
		--initial-advertise-peer-urls "http://$SEED_IP:7001" \
		--initial-cluster "seed=http://$SEED_IP:7001" --enable-v2 \
		>"$WORK/seed/etcd.log" 2>&1 </dev/null &
	SEED_PID=$!
	WAIT_IGNORE_AGENTS=1 wait_for "seed etcd (v2 API) answers on $SEED_URL" 30 seed_up >&2 ||
		fail "the seed etcd did not start (see $WORK/seed/etcd.log)"
	kill -0 "$SEED_PID" 2>/dev/null || {
		cat "$WORK/seed/etcd.log" >&2
		fail "the seed etcd exited"
	}
}

# ---------------------------------------------------------------- bootstrap

# An awk function: seconds since midnight of a time of day H:M:S.frac.
AWK_TOD='function tod(s, a) { split(s, a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }'

# etcd_stall LOG...: the longest time (s) any member's etcd spent between
# printing its configuration ("embed: advertise client URLs") and
# "etcdserver: starting member". etcd 3.4 does its "is this member already
# bootstrapped?" check there when it starts a new member from a static
# --initial-cluster: it asks every peer's /members, with a 1 s timeout each,
# and a peer that already listens but does not serve yet costs the full
# second. Members started together thus often stall 1 s per peer. With
# --discovery etcd skips the check (its next line is "discovery: ...", which
# is not counted). 0.000 when no member stalled.
etcd_stall() {
	awk "$AWK_TOD"'
		FNR == 1 { want = 0 }
		/^[0-9-]+ [0-9:.]+ [A-Z] \| embed: advertise client URLs/ { at = tod($2); want = 1; next }
		want && /^[0-9-]+ [0-9:.]+ [A-Z] \| / {
			if ($0 ~ /etcdserver: starting member/ && tod($2) - at > m) m = tod($2) - at
			want = 0
		}
		END { printf "%.3f\n", m + 0 }' "$@" 2>/dev/null
}

# etcd_up T0 N LOG...: seconds from T0 (the launch, UTC time of day
# H:M:S.frac) until the last of the N members' etcds logged its first line
# (capnslog, etcd 3.4: "2026-12-05 06:07:56.167214 I | ..."; zap, 3.5+:
# "ts":"2026-12-05T06:07:56.167Z"): the launch itself, what runs before
# etcd (zooinit's agent, or nothing) and Go's start of etcd. The paths'
# difference is what zooinit costs before etcd runs, without the election
# that follows, whose random timeout dominates the spread of the totals.
# NA when a member's etcd logged nothing.
etcd_up() {
	local t0=$1 n=$2
	shift 2
	awk -v t0="$t0" -v n="$n" "$AWK_TOD"'
		FNR == 1 { done = 0 }
		done { next }
		/^[0-9-]+ [0-9:.]+ [A-Z] \| / { t = tod($2); done = 1 }
		!done && match($0, /"ts":"[0-9-]+T[0-9:.]+/) {
			t = tod(substr($0, RSTART + 17, RLENGTH - 17)); done = 1
		}
		done {
			got++
			d = t - tod(t0); if (d < 0) d += 86400
			if (d > m) m = d
		}
		END { if (got < n) print "NA"; else printf "%.3f\n", m }' "$@" 2>/dev/null
}

# schedstat_sum FIELD PID...: the sum of field FIELD of every thread's
# /proc/PID/task/TID/schedstat of these processes (1: nanoseconds on a
# CPU, 3: times put on one; a thread that exited is not counted).
schedstat_sum() {
	local f=$1 p
	shift
	for p; do cat /proc/"$p"/task/*/schedstat; done 2>/dev/null |
		awk -v f="$f" '{ s += $f } END { printf "%.0f\n", s }'
}

# cpu_row KIND PATH N RUN PID...: a raw.tsv row with the CPU time of these
# processes so far, in ms per host of the run's N.
cpu_row() {
	printf '%s\t%s\t%s\t%s\t%s\tok\t\n' "$1" "$2" "$3" "$4" \
		"$(schedstat_sum 1 "${@:5}" | awk -v n="$3" '{ printf "%.1f", $1 / 1e6 / n }')" >>"$OUT/raw.tsv"
}

# cpu_rows PATH N RUN: right after a healthy run, the CPU ms per host of
# every process in hosts 1..N (etcd, and the agent on zooinit's paths),
# and of the agents alone (kinds cpu, agentcpu).
cpu_rows() {
	local path=$1 n=$2 r=$3 i
	local -a all=() agents=()
	for ((i = 1; i <= n; i++)); do
		mapfile -t -O "${#all[@]}" all < <(ns_pids "$i")
		agents+=("${LPID[i]}")
	done
	cpu_row cpu "$path" "$n" "$r" "${all[@]}"
	case $path in zooinit-*) cpu_row agentcpu "$path" "$n" "$r" "${agents[@]}" ;; esac
}

FAILED_RUNS=0
# run_case PATH N RUN: one timed bootstrap; appends a row to raw.tsv.
run_case() {
	local path=$1 n=$2 r=$3 url="" t0 w0 up rc=0 s status=ok detail=""
	rm -rf "$RD" && mkdir -p "$RD"
	case $path in etcd-v2-discovery | zooinit-token)
		url=$(new_token "$n") || {
			status=error detail="could not create a token"
		}
		detail=${url##*/}
		;;
	esac
	if [ "$status" = ok ]; then
		w0=$(date +%H:%M:%S.%N)
		t0=$(now_ns)
		launch "$path" "$n" "$path-n$n-r$r" "$url"
		wait_cluster "$n" $((t0 + RUN_TIMEOUT * 1000000000)) || rc=$?
		case $rc in
		0)
			s=$(secs "$t0" "$DONE_NS")
			cpu_rows "$path" "$n" "$r"
			# The raft term of the first healthy poll: 2 when the first
			# election won, higher after split votes.
			detail="${detail:+$detail }term=$(jq -s -r 'map(.raftTerm // "0" | tonumber) | max' "$PD"/s* 2>/dev/null)"
			;;
		1) status=timeout detail=$WHY ;;
		*) status=exited detail=$WHY ;;
		esac
	fi
	detail="${detail:+$detail }stall=$(etcd_stall "$RD"/h*.log)"
	if [ "$status" != ok ]; then
		FAILED_RUNS=$((FAILED_RUNS + 1))
		s=NA
		mkdir -p "$OUT/failed/$path-n$n-r$r"
		cp "$RD"/*.log "$PD"/* "$OUT/failed/$path-n$n-r$r/" 2>/dev/null
		progress "n=$n run $r/$RUNS $path: FAILED ($status: $detail); logs in $OUT/failed/$path-n$n-r$r"
	else
		progress "n=$n run $r/$RUNS $path: $s s"
	fi
	printf 'bootstrap\t%s\t%s\t%s\t%s\t%s\t%s\n' "$path" "$n" "$r" "$s" "$status" "$detail" >>"$OUT/raw.tsv"
	if [ "$status" = ok ] && up=$(etcd_up "$w0" "$n" "$RD"/h*.log) && [ "$up" != NA ]; then
		printf 'etcdup\t%s\t%s\t%s\t%s\tok\t\n' "$path" "$n" "$r" "$up" >>"$OUT/raw.tsv"
	fi
	if [ "${BENCH_LOGS:-0}" = 1 ]; then
		mkdir -p "$OUT/logs/$path-n$n-r$r"
		cp "$RD"/*.log "$OUT/logs/$path-n$n-r$r/" 2>/dev/null
	fi
	kill_hosts
	rm -rf "$RD"
}

# stats KIND PATH N [nostall]: "runs=R min=.. median=.. p95=.." over the
# ok rows of raw.tsv (median: mean of the middle two for an even count;
# p95: nearest rank, the ceil(0.95 R)-th smallest); " failed=K" appended
# when K > 0. With nostall: only the runs in which no member's etcd stalled
# 0.5 s or more in its startup check (etcd_stall), and " stalled=K" first.
# STATS_DETAIL=REGEX keeps only the rows whose detail matches.
stats() {
	awk -F'\t' -v k="$1" -v p="$2" -v n="$3" -v only="${4:-}" -v d="${STATS_DETAIL:-}" '
		$1 == k && $2 == p && $3 == n && (d == "" || $7 ~ d) {
			if ($6 != "ok") { f++; next }
			if (only == "nostall" && match($7, /stall=[0-9.]+/) &&
				substr($7, RSTART + 6, RLENGTH - 6) + 0 >= 0.5) { st++; next }
			v[++c] = $5 + 0
		}
		END {
			if (only == "nostall") printf "stalled=%d ", st
			if (c == 0) { printf "runs=0 min=NA median=NA p95=NA"; if (f) printf " failed=%d", f; print ""; exit }
			for (i = 2; i <= c; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
			med = (c % 2) ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
			r = int(0.95 * c); if (r < 0.95 * c) r++
			fmt = k ~ /cpu$/ ? "%.1f" : "%.3f"	# ms, or seconds
			printf "runs=%d min=" fmt " median=" fmt " p95=" fmt, c, v[1], med, v[r]
			if (f) printf " failed=%d", f
			print ""
		}' "$OUT/raw.tsv"
}
median_of() { stats "$@" | sed -n 's/.* median=\([0-9.]*\).*/\1/p'; }

# ---------------------------------------------------------------- main

START=$SECONDS
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
emit "# zooinit bench $(date -u +%Y-%m-%dT%H:%M:%SZ): runs=$RUNS sizes=$SIZES timeout=${RUN_TIMEOUT}s poll=${POLL}s"
emit "# machine: nproc=$(nproc) cpu=\"$cpu\" kernel=$(uname -r) mem=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)kB loadavg=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
emit "# software: $("$Z" version 2>&1 | head -n 1) ($(sha256sum "$Z" | cut -c1-12)); etcd $(etcd --version | awk '/^etcd Version/ { print $3 }'); clock $CLOCK"

progress "network: hosts h1-h$MAXN, discovery seed h$SEED ($SEED_IP), DNS $DNS_IP"
net_up "$SEED" >&2
start_seed
read -ra sizes <<<"$SIZES"
read -ra paths <<<"$PATHS"
np=${#paths[@]}
for n in "${sizes[@]}"; do
	progress "n=$n: zone zl.test with h1..h$n"
	zone_std "$n" >&2
	for ((r = 1; r <= RUNS; r++)); do
		# Round-robin: run r starts with path (r-1) mod P.
		for ((j = 0; j < np; j++)); do
			run_case "${paths[(r - 1 + j) % np]}" "$n" "$r"
		done
	done
done

# stats_lines LABEL KIND [nostall]: one "LABEL path=P n=N runs=..." line
# per N and path (no LABEL: "path=P ..."); agentcpu on zooinit's paths only.
stats_lines() {
	local n p
	for n in "${sizes[@]}"; do
		for p in "${paths[@]}"; do
			[ "$2" = agentcpu ] && [[ $p != zooinit-* ]] && continue
			emit "${1:+$1 }path=$p n=$n $(stats "$2" "$p" "$n" "${3:-}")"
		done
	done
}
stats_lines "" bootstrap
ratios() { # PREFIX [nostall]
	local n pair p base a b
	for n in "${sizes[@]}"; do
		for pair in zooinit-dns:static zooinit-token:etcd-v2-discovery; do
			p=${pair%%:*} base=${pair#*:}
			[[ " $PATHS " == *" $p "* && " $PATHS " == *" $base "* ]] || continue
			a=$(median_of bootstrap "$p" "$n" "${2:-}") b=$(median_of bootstrap "$base" "$n" "${2:-}")
			if [ -n "$a" ] && [ -n "$b" ]; then
				emit "$1 path=$p base=$base n=$n median=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
			fi
		done
	done
}
ratios ratio
# The same without the runs in which etcd's own startup check stalled
# (see etcd_stall): what is left is the paths' own cost.
stats_lines nostall bootstrap nostall
ratios ratio-nostall nostall
# The launch until every member's etcd runs (etcd_up): what each path does
# before etcd, without etcd's election.
stats_lines etcdup etcdup
# CPU per host until healthy (cpu_rows): every process, and the agent.
stats_lines cpu cpu
stats_lines agentcpu agentcpu

[ "$RECOVER_RUNS" -gt 0 ] && agent_phase
[ "$RECOVER_RUNS" -gt 0 ] && [ -n "$LEADER_ARGS" ] && leader_phase
[ -n "$MEM_SERVICES" ] && memory_phase
[ "$EXTRAS" -gt 0 ] && scale_phase

# cell STATS: "median / p95 / min (runs)" of a stats line.
cell() {
	awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		if (v["runs"] == 0) { printf "%s", (v["failed"] != "" ? "failed" : "none"); exit }
		printf "%s / %s / %s (%s", v["median"], v["p95"], v["min"], v["runs"]
		if (v["failed"] != "") printf ", %s failed", v["failed"]
		printf ")" }' <<<"$1"
}
# field KEY LINE-PREFIX: the value of KEY= in results.txt's line.
field() { grep -m1 "^$2 " "$OUT/results.txt" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# mem_cell SCHEME S: "Anonymous (heap), wakeups/s" of one memory case.
mem_cell() {
	local l="memory scheme=$1 services=$2"
	if ! grep -q "^$l " "$OUT/results.txt"; then
		printf 'none'
		return
	fi
	printf '%s (%s), %s' "$(field anon_kb "$l")" "$(field heap_kb "$l")" \
		"$(field voluntary_per_s "$l")"
}
# path_table KIND TITLE: one row per path, one column per N.
path_table() {
	local n p l
	declare -A names=([static]="static etcd" [zooinit-dns]="zooinit, DNS"
		[etcd-v2-discovery]="etcd's own v2 discovery" [zooinit-token]="zooinit, token")
	echo "$2: median / p95 / min (runs)"
	echo
	l="| path |" && for n in "${sizes[@]}"; do l+=" N=$n |"; done && echo "$l"
	l="| --- |" && for n in "${sizes[@]}"; do l+=" --- |"; done && echo "$l"
	for p in "${paths[@]}"; do
		[ "$1" = agentcpu ] && [[ $p != zooinit-* ]] && continue
		l="| ${names[$p]} |"
		for n in "${sizes[@]}"; do l+=" $(cell "$(stats "$1" "$p" "$n")") |"; done
		echo "$l"
	done
}
table() {
	if [ "${#paths[@]}" -gt 0 ]; then
		path_table bootstrap "Seconds from launch to a healthy cluster"
		echo
		path_table etcdup "Seconds from launch until every member's etcd runs (its first log line)"
		echo
		path_table cpu "CPU ms per host from launch to a healthy cluster, every process of the host (etcd, and zooinit on its paths)"
		if [[ " ${paths[*]}" == *" zooinit-"* ]]; then
			echo
			path_table agentcpu "CPU ms of the zooinit agent per host, of the above"
		fi
	fi
	if [ "$RECOVER_RUNS" -gt 0 ]; then
		echo
		echo "| idle agent (median of 3) | wakeups/s | of them voluntary/s | schedstat runs/s | VmRSS kB | Pss kB | Anonymous kB |"
		echo "| --- | --- | --- | --- | --- | --- | --- |"
		echo "| zooinit-dns, N=3 | $(field wakeups_per_s agent) | $(field voluntary_per_s agent) | $(field schedstat_runs_per_s agent) | $(field rss_kb agent) | $(field pss_kb agent) | $(field anon_kb agent) |"
		echo
		echo "| kill -9 of a member's etcd until it is healthy again | median / p95 / min (runs) |"
		echo "| --- | --- |"
		echo "| first crash | $(cell "$(stats crash1 zooinit-dns 3)") |"
		echo "| first crash, a follower killed | $(cell "$(STATS_DETAIL=' follower$' stats crash1 zooinit-dns 3)") |"
		echo "| first crash, the leader killed | $(cell "$(STATS_DETAIL=' leader$' stats crash1 zooinit-dns 3)") |"
		echo "| second crash in a row | $(cell "$(stats crash2 zooinit-dns 3)") |"
		if [ -n "$LEADER_ARGS" ]; then
			echo "| first crash, the leader killed, etcd_args \`$LEADER_ARGS\` | $(cell "$(stats crash1t zooinit-dns 3)") |"
		fi
	fi
	if [ -n "$MEM_SERVICES" ]; then
		echo
		echo "| idle agent, one member, custom services | http: Anonymous kB (heap kB), voluntary wakeups/s | https: the same |"
		echo "| --- | --- | --- |"
		for s in $MEM_SERVICES; do
			echo "| $s | $(mem_cell http "$s") | $(mem_cell https "$s") |"
		done
	fi
	if [ "$EXTRAS" -gt 0 ]; then
		echo
		echo "| scale, token path | voters healthy s | every host serves reads s | first read per host |"
		echo "| --- | --- | --- | --- |"
		echo "| $SCALE_V voters + $EXTRAS extras | $(field voters_healthy scale) | $(field all_serving scale) | $(cell "$(stats scalehost zooinit-token "$SCALE_V")") |"
	fi
}
table >"$OUT/table.md"
cat "$OUT/table.md"

if command -v gnuplot >/dev/null; then
	if gnuplot -e "datafile='$OUT/raw.tsv'; outfile='$OUT/bootstrap.png'; sizes='$SIZES'; paths='$PATHS'" \
		"$here/plot.gp" 2>>"$OUT/progress.log"; then
		progress "plot: $OUT/bootstrap.png"
	else
		progress "plot: gnuplot failed (see $OUT/progress.log)"
	fi
else
	progress "plot: gnuplot is not installed, so no plot was drawn; install it (Debian: apt-get install gnuplot-nox) and run again"
fi

emit "# took $((SECONDS - START)) s; failed runs: $FAILED_RUNS; loadavg at end \"$(cut -d' ' -f1-3 /proc/loadavg)\""
# Every case needs at least one successful run.
grep -qE '^(path=|crash-first |crash-second |crash-leader-tuned ).* runs=0 |^scale .*status=failed' "$OUT/results.txt" && exit 1
exit 0
