#!/bin/bash
# Runs zooinit's integration tests: every tests/integ/t_*.sh, each in its own
# bash under `timeout` (ZI_TEST_TIMEOUT seconds, default 300), with its own
# network namespaces. Prints "ok - NAME" / "FAILED - NAME" (with the test's
# output) / "skipped - NAME" per test and ends with
# "integration: N passed, N failed[, N skipped]". Exits non-zero iff a test
# failed. Without root (or usable `ip netns`) every test is skipped.
#
# usage: tests/integ/run.sh ZOOINIT_BINARY
# env:   TESTS=REGEX  run only tests whose name (t_...) matches
#        VERBOSE=1    print every test's output, not only failed ones
#        KEEP=1       keep each test's work directory under /tmp
#        JOBS=N       run N tests at a time (default 1); each has its own
#                     namespaces, so they do not meet
#        ETCD=DIR     a directory holding etcd and etcdctl of another version
#                     (tests/etcd-build.sh makes them); put first on PATH
set -u

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -ne 1 ]; then
	echo "usage: $0 ZOOINIT_BINARY" >&2
	exit 2
fi
bin=$1
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac

tests=()
for t in "$here"/t_*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	if [ -n "${TESTS:-}" ] && ! [[ $name =~ $TESTS ]]; then
		continue
	fi
	tests+=("$t")
done

summary() { # PASS FAIL SKIP
	if [ "$3" -gt 0 ]; then
		echo "integration: $1 passed, $2 failed, $3 skipped"
	else
		echo "integration: $1 passed, $2 failed"
	fi
}

netns_usable() {
	local probe="zi$$probe" rc=0
	ip netns add "$probe" 2>/dev/null || return 1
	ip netns exec "$probe" true 2>/dev/null || rc=1
	ip -n "$probe" link add zibr0 type bridge 2>/dev/null || rc=1
	ip -n "$probe" link add zive0 type veth peer name zive1 2>/dev/null || rc=1
	ip netns del "$probe" 2>/dev/null
	return "$rc"
}

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! netns_usable; then
	echo "integration: SKIPPED — needs root for network namespaces (run make test as root)"
	summary 0 0 "${#tests[@]}"
	exit 0
fi
if [ ! -x "$bin" ]; then
	echo "integration: $bin is not an executable file" >&2
	exit 2
fi

if [ -n "${ETCD:-}" ]; then
	if [ ! -x "$ETCD/etcd" ] || [ ! -x "$ETCD/etcdctl" ]; then
		echo "integration: ETCD=$ETCD holds no etcd and etcdctl" >&2
		exit 2
	fi
	PATH=$ETCD:$PATH
	echo "integration: etcd $("$ETCD/etcd" --version | sed -n 's/^etcd Version: //p') from $ETCD"
fi

# shellcheck source-path=SCRIPTDIR source=lib.sh
ZI_NO_INIT=1 . "$here/lib.sh"

logdir=$(mktemp -d /tmp/zooinit-integ.XXXXXX) || exit 2
pass=0 fail=0 skipped=0 k=0
jobs=${JOBS:-1}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "integration: JOBS=$jobs is not a count" >&2; exit 2; }
# The tests running now, by the pid of their `timeout`: name, namespace
# prefix, start time.
declare -A run_name=() run_prefix=() run_start=()

# Ctrl-C / TERM: stop the running tests (they clean up), sweep, report.
interrupted() {
	local p n
	trap '' INT TERM
	echo "integration: interrupted" >&2
	for p in "${!run_name[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${!run_name[@]}"; do
		for ((n = 0; n < 150; n++)); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$p" 2>/dev/null
		zi_sweep "${run_prefix[$p]}"
		echo "FAILED - ${run_name[$p]} (interrupted)"
		fail=$((fail + 1))
	done
	echo "integration: test output in $logdir"
	summary "$pass" "$fail" "$skipped"
	exit 130
}
trap interrupted INT TERM

# start_test FILE: runs one test in the background under `timeout`.
start_test() {
	local name prefix p
	k=$((k + 1))
	name=$(basename "$1" .sh)
	prefix="zi$$t$k"
	ZI_PREFIX=$prefix ZOOINIT=$bin timeout -k 30 "${ZI_TEST_TIMEOUT:-300}" \
		bash "$1" >"$logdir/$name.log" 2>&1 </dev/null &
	p=$!
	run_name[$p]=$name
	run_prefix[$p]=$prefix
	run_start[$p]=$SECONDS
}

# end_test PID RC: sweeps what the test left and reports it.
end_test() {
	local p=$1 rc=$2 name=${run_name[$1]} log took why
	log="$logdir/$name.log"
	# A test killed hard (timeout -k) cannot clean up after itself.
	zi_sweep "${run_prefix[$p]}"
	took="$((SECONDS - run_start[$p])) s"
	unset "run_name[$p]" "run_prefix[$p]" "run_start[$p]"
	if [ "$rc" = 0 ]; then
		echo "ok - $name ($took)"
		pass=$((pass + 1))
		[ "${VERBOSE:-0}" = 1 ] && sed 's/^/    /' "$log"
	elif [ "$rc" = 77 ]; then
		echo "skipped - $name ($(grep -m1 '^SKIP:' "$log" | cut -c7-))"
		skipped=$((skipped + 1))
	else
		case $rc in
		124 | 137) why="timed out after ${ZI_TEST_TIMEOUT:-300} s" ;;
		*) why="exit $rc after $took" ;;
		esac
		echo "FAILED - $name ($why)"
		fail=$((fail + 1))
		sed 's/^/    /' "$log"
	fi
	return 0
}

# wait_one: waits for any running test to end and reports it.
wait_one() {
	local p rc=0
	wait -n -p p "${!run_name[@]}" || rc=$?
	# wait -n returns at a trapped signal with no pid: the trap ran.
	[ -n "${p:-}" ] && end_test "$p" "$rc"
	return 0
}

for t in "${tests[@]}"; do
	while [ "${#run_name[@]}" -ge "$jobs" ]; do
		wait_one
	done
	start_test "$t"
done
while [ "${#run_name[@]}" -gt 0 ]; do
	wait_one
done

if [ "$fail" -gt 0 ] || [ "${KEEP:-0}" = 1 ]; then
	echo "integration: test output in $logdir"
else
	rm -rf "$logdir"
fi
summary "$pass" "$fail" "$skipped"
[ "$fail" -eq 0 ]
