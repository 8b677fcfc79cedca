#!/bin/bash
# Two clusters in one domain, told apart by srv_name (etcd's
# --discovery-srv-name): the zone publishes h1..h3 under
# _etcd-server-blue._tcp and h4..h6 under _etcd-server-red._tcp. h1..h3 run
# `zooinit bootstrap --srv-name blue`, h4..h6 the same with red: two
# clusters of 3 voting members with one leader each, different cluster IDs
# and cluster tokens, and a key put in one is not in the other. h7, listed
# nowhere, runs with --srv-name blue and becomes a client of blue only.
# `zooinit plan --srv-name green` names the three record sets it did not
# find.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

FLAGS=(--size 3 --health-interval 1 --stop-timeout 5)

members_are() { # I NAMES: the started voters host I sees, space-ended
	local got
	got=$(cluster_member_names "$1" | tr '\n' ' ')
	echo "h$1 sees: $got"
	[ "$got" = "$2" ]
}
both_formed() {
	members_are 1 "h1 h2 h3 " && members_are 4 "h4 h5 h6 " &&
		[ "$(cluster_leader_count 1)" = 1 ] && [ "$(cluster_leader_count 4)" = 1 ]
}

net_up 7
lines=()
for i in 1 2 3 4 5 6; do
	c=blue
	[ "$i" -le 3 ] || c=red
	lines+=("srv-host=_etcd-server-$c._tcp.$ZONE,h$i.$ZONE,2380,0,10"
		"host-record=h$i.$ZONE,$(host_ip "$i")")
done
dns_zone "${lines[@]}"

run_plan 4 "${FLAGS[@]}" --srv-name red --json || fail "plan on h4 failed: $(cat "$WORK/h4/plan.log")"
sed -n '/^{/,/^}/p' "$WORK/h4/plan.log" >"$WORK/h4/plan.json"
assert_eq "$(jq -r '[.role, .source_detail, .token, .initial_cluster] | join(" ")' "$WORK/h4/plan.json")" \
	"member _etcd-server-red._tcp.$ZONE http://127.0.0.1:2378/zooinit-etcd-red-$ZONE h4=http://$(host_ip 4):2380,h5=http://$(host_ip 5):2380,h6=http://$(host_ip 6):2380" \
	"plan --srv-name red on h4: a member of red's three, its own token"
rc=0
run_plan 1 "${FLAGS[@]}" --srv-name green --resolve-timeout 2 || rc=$?
[ "$rc" != 0 ] || fail "plan --srv-name green succeeded"
assert_contains "$WORK/h1/plan.log" "no SRV records for $ZONE: _etcd-server-ssl-green._tcp.$ZONE, _etcd-server-green._tcp.$ZONE and _etcd_server-green._tcp.$ZONE do not exist"

for i in 1 2 3 7; do run_agent "$i" "${FLAGS[@]}" --srv-name blue; done
for i in 4 5 6; do run_agent "$i" "${FLAGS[@]}" --srv-name red; done
wait_for "two clusters of 3 with one leader each" 120 both_formed ||
	fail "the two clusters did not form"
blue=$(cluster_id 1)
red=$(cluster_id 4)
[ -n "$blue" ] && [ -n "$red" ] && [ "$blue" != "$red" ] ||
	fail "cluster IDs: blue '$blue', red '$red'"
ok "blue is cluster $blue, red is cluster $red"
assert_contains "$WORK/h1/agent.log" "token http://127.0.0.1:2378/zooinit-etcd-blue-$ZONE"
assert_contains "$WORK/h4/agent.log" "token http://127.0.0.1:2378/zooinit-etcd-red-$ZONE"

ectl 1 put colour blue >/dev/null || fail "put in blue failed"
ectl 4 put colour red >/dev/null || fail "put in red failed"
assert_eq "$(ectl 2 get colour --print-value-only)" blue "blue's h2 reads blue's key"
assert_eq "$(ectl 6 get colour --print-value-only)" red "red's h6 reads red's key"

log=$WORK/h7/agent.log
wait_for "h7 logs 'proxy healthy'" 60 \
	grep -qF "proxy healthy: serving clients for the cluster of 3" "$log" ||
	fail "h7 did not log 'proxy healthy'"
assert_contains "$log" "plan: 3 members from _etcd-server-blue._tcp.$ZONE; this host is a client"
assert_eq "$(ectl 7 get colour --print-value-only)" blue "client h7 reads blue's key"
ectl 7 put via7 seven >/dev/null || fail "put through h7 failed"
assert_eq "$(ectl 3 get via7 --print-value-only)" seven "a key put through h7 is in blue"
assert_eq "$(ectl 5 get via7 --print-value-only)" "" "and not in red"
