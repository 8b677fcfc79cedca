#!/bin/bash
# An etcd that refuses the command line zooinit gives it (a release without
# a flag zooinit passes) is a configuration error, not a crash: the seed of
# `discovery serve` and the etcd of `bootstrap` each stop with exit 100 and
# one line saying so, right after etcd's own complaint in the same log,
# instead of restarting it for ever.
# Every supported etcd takes the flags zooinit passes (the seed on 3.6+
# goes without --enable-v2), so the etcd here is a stand-in that refuses
# every start as etcd 3.6+ refused --enable-v2.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

fake=$WORK/fake-etcd
cat >"$fake" <<'SH'
#!/bin/sh
case "$1" in --version) echo "etcd Version: 3.6.16"; exit 0 ;; esac
echo "flag provided but not defined: -enable-v2" >&2
echo "Usage:" >&2
echo "  etcd [flags]" >&2
exit 2
SH
chmod +x "$fake"

net_up 1
zone_std 1

# refused SERVE_TAG ETCD: discovery serve with ETCD exits 100 in time.
refused_serve() {
	local tag=$1 etcd=$2 start=$SECONDS rc=0
	run_serve 1 "$tag" --etcd "$etcd" --size 3
	for ((n = 0; n < 150; n++)); do
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.2
	done
	kill -0 "$SERVE_PID" 2>/dev/null && fail "discovery serve ($tag) still runs after 30 s"
	wait "$SERVE_PID" || rc=$?
	assert_eq "$rc" 100 "discovery serve with $tag exits 100"
	assert_contains "$WORK/h1/$tag.log" "refused the command line zooinit gave it"
	assert_contains "$WORK/h1/$tag.log" "flag provided but not defined: -enable-v2"
	[ "$(grep -c 'started seed etcd' "$WORK/h1/$tag.log")" -le 1 ] ||
		fail "the seed etcd was started more than once"
	say "discovery serve with $tag gave up after $((SECONDS - start)) s"
}

refused_serve serve-fake "$fake"

run_agent 1 --size 1 --etcd "$fake"
agent_wait 1 30 || fail "bootstrap with an etcd that refuses its flags still runs after 30 s"
assert_eq "$AGENT_RC" 100 "bootstrap exits 100"
assert_contains "$WORK/h1/agent.log" "refused the command line zooinit gave it"
[ "$(grep -c 'started etcd' "$WORK/h1/agent.log")" -eq 1 ] ||
	fail "etcd was started more than once"
ok "bootstrap stops at etcd's first refusal"

# An etcd that exits with status 1 at once during its first start (as etcd
# does when it refuses its initial cluster) makes the agent plan again;
# when that gives the same flags, it stops with exit 111 and one line
# instead of restarting etcd with them for ever.
fake1=$WORK/fake-etcd-1
cat >"$fake1" <<'SH'
#!/bin/sh
case "$1" in --version) echo "etcd Version: 3.4.23"; exit 0 ;; esac
echo "C | etcdmain: error validating peerURLs: member count is unequal" >&2
exit 1
SH
chmod +x "$fake1"
rm -rf "$WORK/h1/data" "$WORK/h1/data.zooinit"
run_agent 1 --size 1 --etcd "$fake1"
agent_wait 1 30 || fail "bootstrap with an etcd that exits 1 at once still runs after 30 s"
assert_eq "$AGENT_RC" 111 "bootstrap exits 111"
assert_contains "$WORK/h1/agent.log" "planning again: etcd exited with status 1 at once"
assert_contains "$WORK/h1/agent.log" "gave the same flags, which it would refuse again"
[ "$(grep -c 'started etcd' "$WORK/h1/agent.log")" -eq 1 ] ||
	fail "etcd was started more than once with the same flags"
ok "bootstrap plans again once, then stops instead of restarting etcd with the same flags"
