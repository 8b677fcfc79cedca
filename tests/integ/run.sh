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
pass=0 fail=0 skipped=0 k=0 tpid="" prefix="" name="" log=/dev/null

# Ctrl-C / TERM: stop the running test (it cleans up), sweep, report.
interrupted() {
	trap '' INT TERM
	echo "integration: interrupted" >&2
	if [ -n "$tpid" ]; then
		kill -TERM "$tpid" 2>/dev/null
		for ((n = 0; n < 150; n++)); do
			kill -0 "$tpid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$tpid" 2>/dev/null
	fi
	[ -n "$prefix" ] && zi_sweep "$prefix"
	echo "FAILED - $name (interrupted)"
	[ -s "$log" ] && sed 's/^/    /' "$log"
	echo "integration: test output in $logdir"
	summary "$pass" "$((fail + 1))" "$skipped"
	exit 130
}
trap interrupted INT TERM

for t in "${tests[@]}"; do
	k=$((k + 1))
	name=$(basename "$t" .sh)
	prefix="zi$$t$k"
	log="$logdir/$name.log"
	start=$SECONDS
	ZI_PREFIX=$prefix ZOOINIT=$bin timeout -k 30 "${ZI_TEST_TIMEOUT:-300}" \
		bash "$t" >"$log" 2>&1 </dev/null &
	tpid=$!
	rc=0
	wait "$tpid" || rc=$?
	tpid=""
	# A test killed hard (timeout -k) cannot clean up after itself.
	zi_sweep "$prefix"
	prefix=""
	took="$((SECONDS - start)) s"
	if [ "$rc" = 0 ]; then
		echo "ok - $name"
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
done

if [ "$fail" -gt 0 ] || [ "${KEEP:-0}" = 1 ]; then
	echo "integration: test output in $logdir"
else
	rm -rf "$logdir"
fi
summary "$pass" "$fail" "$skipped"
[ "$fail" -eq 0 ]
