#!/bin/bash
# Zones that must be refused. For each one `zooinit plan` and
# `zooinit bootstrap` in host 1 exit with the documented code and sentence,
# and no etcd is started (no process, no member/ in the data dir).
#  (a) h1 under _etcd-server-ssl._tcp, h2 and h3 under _etcd-server._tcp
#  (b) the zone lists h2, h3, h4 but the agent runs on h1 (10.99.0.1)
#      with --role member (role auto would make it a client)
#  (c) _etcd-server._tcp lists h1 twice (ports 2380 and 2381) and h2
#  (d) h3 has an SRV record but no A record: only 2 of 3 resolve
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

net_up 3
# An etcd that leaves a trace when it is ever started.
spy=$WORK/etcd-spy.sh
printf '#!/bin/sh\necho "$$ $*" >>%s/etcd-started\nexec %s "$@"\n' \
	"$WORK" "$(command -v etcd)" >"$spy"
chmod +x "$spy"

XFLAGS=() # more flags for refused()
srv() { echo "srv-host=$1.$ZONE,h$2.$ZONE,${3:-2380},0,10"; }
a() { echo "host-record=h$1.$ZONE,$NET.$1"; }

nothing_started() { # CASE
	local p
	[ ! -e "$WORK/etcd-started" ] ||
		fail "$1: etcd was started: $(cat "$WORK/etcd-started")"
	p=$(etcd_pids 1)
	[ -z "$p" ] || fail "$1: etcd runs in h1: pid $p"
	[ -z "$(ns_pids 1)" ] || fail "$1: processes left in h1: $(ns_pids 1)"
	[ ! -e "$WORK/h1/data/member" ] || fail "$1: $WORK/h1/data/member was created"
	ok "$1: no etcd was started, no member/ created"
}

# refused CASE CODE SUBSTRING...: plan and bootstrap both exit CODE and
# say every SUBSTRING.
refused() {
	local c=$1 code=$2 rc=0 s
	shift 2
	rm -rf "$WORK/h1/data"
	run_plan 1 --size 3 --resolve-timeout 5 --etcd "$spy" "${XFLAGS[@]}" || rc=$?
	assert_eq "$rc" "$code" "$c: zooinit plan exits $code"
	for s in "$@"; do assert_contains "$WORK/h1/plan.log" "$s"; done
	nothing_started "$c: plan"

	run_agent 1 --size 3 --resolve-timeout 5 --etcd "$spy" "${XFLAGS[@]}"
	agent_wait 1 40 || fail "$c: bootstrap still runs after 40 s"
	assert_eq "$AGENT_RC" "$code" "$c: zooinit bootstrap exits $code"
	for s in "$@"; do assert_contains "$WORK/h1/agent.log" "$s"; done
	nothing_started "$c: bootstrap"
}

say "(a) scheme mismatch"
dns_zone "$(srv _etcd-server-ssl._tcp 1)" "$(srv _etcd-server._tcp 2)" \
	"$(srv _etcd-server._tcp 3)" "$(a 1)" "$(a 2)" "$(a 3)"
refused "(a)" 100 "scheme mismatch"

say "(b) this host is not in the zone"
dns_zone "$(srv _etcd-server._tcp 2)" "$(srv _etcd-server._tcp 3)" \
	"$(srv _etcd-server._tcp 4)" "$(a 2)" "$(a 3)" "$(a 4)"
XFLAGS=(--role member)
refused "(b)" 100 "is not among the targets" "role is member"
XFLAGS=()

say "(c) the same target twice"
dns_zone "$(srv _etcd-server._tcp 1 2380)" "$(srv _etcd-server._tcp 1 2381)" \
	"$(srv _etcd-server._tcp 2)" "$(a 1)" "$(a 2)"
refused "(c)" 100 "twice"

say "(d) h3 has no address"
dns_zone "$(srv _etcd-server._tcp 1)" "$(srv _etcd-server._tcp 2)" \
	"$(srv _etcd-server._tcp 3)" "$(a 1)" "$(a 2)"
rm -rf "$WORK/h1/data"
start=$SECONDS
run_agent 1 --size 3 --resolve-timeout 5 --etcd "$spy"
agent_wait 1 60 || fail "(d): bootstrap still runs 60 s after a 5 s resolve timeout"
assert_eq "$AGENT_RC" 111 "(d): zooinit bootstrap exits 111 (temporary failure)"
say "(d): gave up after $((SECONDS - start)) s"
assert_contains "$WORK/h1/agent.log" "only 2 of 3"
assert_contains "$WORK/h1/agent.log" "h3.zl.test"
nothing_started "(d): bootstrap"
rc=0
run_plan 1 --size 3 --resolve-timeout 5 --etcd "$spy" || rc=$?
[ "$rc" != 0 ] || fail "(d): zooinit plan exits 0 although h3 does not resolve"
ok "(d): zooinit plan exits $rc (not 0)"
nothing_started "(d): plan"
