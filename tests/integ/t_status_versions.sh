#!/bin/bash
# zooinit status on a cluster of mixed etcd versions, and with a learner.
# Plain etcd members, no agents: h1 and h2 run Debian's etcd 3.4, h3 runs
# etcd 3.5 (3.4 and 3.5 run one cluster together). status exits 0 (the
# cluster is healthy), shows each member's version and says, in one line,
# "mixed etcd versions: 3.4.23 on h1, h2; 3.5.21 on h3; ..."; --json says
# "mixed_versions": true and lists the versions with their members. Then h4
# (3.4) is added as a learner with etcdctl and started, never promoted:
# status shows it as a learner, healthy, says it is not a voter until it is
# promoted, counts 3 voters and 1 learner, still exits 0; --json marks it
# learner, healthy, catching_up false. With h3 stopped only 3.4 answers:
# status exits 1 naming h3 and has no mixed-versions line.
# Needs etcd 3.5 (ETCD35=PATH, or /var/cache/zooinit/etcd/3.5.*/etcd) and
# Debian's etcd 3.4 at /usr/bin/etcd; otherwise the test is skipped.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

E34=/usr/bin/etcd
E35=
for cand in "${ETCD35:-}" /var/cache/zooinit/etcd/3.5.*/etcd; do
	if [ -n "$cand" ] && [ -x "$cand" ] &&
		"$cand" --version 2>/dev/null | grep -q '^etcd Version: 3\.5\.'; then
		E35=$cand
		break
	fi
done
[ -n "$E35" ] || skip "no etcd 3.5 (set ETCD35=PATH or build one with make etcd-versions)"
"$E34" --version 2>/dev/null | grep -q '^etcd Version: 3\.4\.' ||
	skip "no etcd 3.4 at $E34 (Debian's etcd-server)"
V34=$("$E34" --version | sed -n 's/^etcd Version: //p')
V35=$("$E35" --version | sed -n 's/^etcd Version: //p')
say "etcd $V34 ($E34) on h1 h2, etcd $V35 ($E35) on h3"

# plain_etcd I BIN STATE CLUSTER: etcd BIN as member hI in host I,
# --initial-cluster-state STATE; log in $WORK/hI/etcd.log.
plain_etcd() {
	local i=$1 bin=$2 state=$3 cl=$4 a
	a=$(host_ip "$i")
	mkdir -p "$WORK/h$i"
	ip netns exec "$(host_ns "$i")" "$bin" --name "h$i" \
		--data-dir "$WORK/h$i/data" --initial-cluster-token mixed \
		--listen-client-urls "http://$a:2379" --advertise-client-urls "http://$a:2379" \
		--listen-peer-urls "http://$a:2380" --initial-advertise-peer-urls "http://$a:2380" \
		--initial-cluster "$cl" --initial-cluster-state "$state" \
		>"$WORK/h$i/etcd.log" 2>&1 </dev/null &
}
# run_status NAME ARGS...: `zooinit status ARGS...` in host 1, bounded;
# stdout in $WORK/NAME.out, exit status in RC.
run_status() {
	local name=$1
	shift
	RC=0
	timeout -k 5 30 ip netns exec "$(host_ns 1)" "$ZOOINIT" status \
		--endpoints "http://$(host_ip 1):2379" "$@" \
		>"$WORK/$name.out" 2>"$WORK/$name.stderr.log" </dev/null || RC=$?
}
show() { sed 's/^/    /' "$WORK/$1.out"; }
status_has() { # NAME TEXT: for wait_for
	run_status "$1" && grep -qF -- "$2" "$WORK/$1.out"
}

net_up 4
CL=""
for i in 1 2 3; do CL="$CL${CL:+,}h$i=http://$(host_ip "$i"):2380"; done
plain_etcd 1 "$E34" new "$CL"
plain_etcd 2 "$E34" new "$CL"
plain_etcd 3 "$E35" new "$CL"
wait_for "3 voting members and one leader" 60 cluster_healthy 3 ||
	fail "3.4 and 3.5 members did not form one cluster"

MIXED="mixed etcd versions: $V34 on h1, h2; $V35 on h3; the cluster keeps the features of the oldest until every member runs the same version: finish the upgrade (or the rollback)"
wait_for "status names every member's version" 30 status_has mixed "$MIXED" ||
	fail "status has no mixed-versions line: $(cat "$WORK/mixed.out")"
say "zooinit status (exit $RC):"
show mixed
assert_eq "$RC" 0 "status of a healthy mixed cluster exits 0"
assert_eq "$(grep -c '^mixed etcd versions' "$WORK/mixed.out")" 1 "one mixed-versions line"
grep -E "^h3 .* $V35 " "$WORK/mixed.out" >/dev/null || fail "h3's row does not show $V35"
ok "h3's row shows $V35"

run_status mixed-json --json
assert_eq "$RC" 0 "status --json of a healthy mixed cluster exits 0"
assert_eq "$(jq -r .mixed_versions "$WORK/mixed-json.out")" true "JSON: mixed_versions is true"
assert_eq "$(jq -c '[.versions[] | [.version, .members]]' "$WORK/mixed-json.out")" \
	"[[\"$V34\",[\"h1\",\"h2\"]],[\"$V35\",[\"h3\"]]]" "JSON: versions lists h1 h2 on $V34, h3 on $V35"

# A learner that nobody promotes. etcd refuses to add a member until every
# voter has been connected for 5 s ("unhealthy cluster").
add_learner() {
	ectl 1 member add h4 --learner --peer-urls "http://$(host_ip 4):2380" >"$WORK/add.out" 2>&1
}
wait_for "etcdctl member add h4 --learner" 30 add_learner ||
	fail "etcdctl member add --learner: $(cat "$WORK/add.out")"
plain_etcd 4 "$E34" existing "$CL,h4=http://$(host_ip 4):2380"
LEARNER="learner h4 is not a voter until it is promoted: in sync with the leader, ready to be promoted"
wait_for "status shows the learner h4 in sync" 60 status_has learner "$LEARNER" ||
	fail "status does not show the learner h4 in sync: $(cat "$WORK/learner.out")"
say "zooinit status with a learner (exit $RC):"
show learner
assert_eq "$RC" 0 "status with a healthy learner exits 0"
grep -E '^h4 +[0-9a-f]{16} +learner +healthy ' "$WORK/learner.out" >/dev/null ||
	fail "h4's row is not 'learner healthy'"
ok "h4's row: learner, healthy"
assert_contains "$WORK/learner.out" "4 members (3 voters, 1 learner), leader"
assert_eq "$(ectl 1 member list | awk -F', ' '$3 == "h4" { print $NF }')" true \
	"etcd still lists h4 as a learner (status promoted nothing)"
# In sync is a moment's reading (the leader may append meanwhile): asked
# again until the JSON says it too.
learner_json() {
	run_status learner-json --json &&
		[ "$(jq -c '.members[] | select(.name == "h4") | [.learner, .healthy, .catching_up]' \
			"$WORK/learner-json.out")" = "[true,true,false]" ]
}
wait_for "JSON: h4 is a healthy learner, not catching up" 30 learner_json ||
	fail "JSON: h4 is not a healthy learner in sync: $(cat "$WORK/learner-json.out")"
assert_eq "$(jq -c '.members[] | select(.name == "h1") | .catching_up' "$WORK/learner-json.out")" \
	null "JSON: catching_up is null for a voter"

# Only 3.4 members answer: not mixed, as far as status can tell.
for p in $(etcd_pids 3); do kill "$p"; done
no_etcd3() { [ -z "$(etcd_pids 3)" ]; }
wait_for "h3's etcd is gone" 20 no_etcd3 || fail "h3's etcd still runs"
run_status down
say "zooinit status with h3 stopped (exit $RC):"
show down
assert_eq "$RC" 1 "status with a voter down exits 1"
assert_contains "$WORK/down.out" "voter h3 is not healthy"
assert_not_contains "$WORK/down.out" "mixed etcd versions"
run_status down-json --json
assert_eq "$(jq -r .mixed_versions "$WORK/down-json.out")" false "JSON: mixed_versions is false"
