#!/bin/bash
# Every host runs the same command. The zone publishes h1..h3; five hosts
# h1..h5 run the same `zooinit bootstrap --domain zl.test --size 3`. h1..h3
# form 3 voting members with one leader; h4 and h5, not among the targets,
# log that they are clients, run `etcd grpc-proxy` on their own client
# port towards the members and serve reads and writes there (etcdctl
# against 10.99.0.4:2379 and .5:2379). `zooinit plan` on a client says
# role "client" and why; with --role member it exits 100 as before.
# Then a member is replaced while the clients serve: h3 dies, is removed,
# the zone publishes h6 instead and h6 runs the same command; both clients
# log that the zone's members changed, restart their proxy towards h1, h2
# and h6 (h6's address in the proxy's argv, h3's gone) and still read the
# key written before the fault and write new ones.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

FLAGS=(--size 3 --health-interval 1 --stop-timeout 5)

proxy_cmdline() { # I: the argv of host I's etcd (grpc-proxy), one line
	local pid
	pid=$(etcd_pids "$1" | head -n 1)
	[ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline"
}
client_serves() { # I KEY VALUE: a put and a quorum get through host I
	ectl "$1" put "$2" "$3" >/dev/null &&
		[ "$(ectl "$1" get --consistency=l "$2" --print-value-only)" = "$3" ]
}
proxy_towards() { # I: host I's proxy names h1, h2 and h6, not h3
	local c
	c=$(proxy_cmdline "$1") || return 1
	echo "$c"
	[[ $c == *"grpc-proxy start"* ]] && [[ $c == *"$(host_ip 6):2379"* ]] &&
		[[ $c != *"$(host_ip 3):2379"* ]]
}
members_are() { # NAMES: the started voters h1 sees, sorted, space-ended
	local got
	got=$(cluster_member_names 1 | tr '\n' ' ')
	echo "$got"
	[ "$got" = "$1" ]
}
reads_before() { # I: the key put before the fault reads back through I
	[ "$(ectl "$1" get before --print-value-only)" = "put via h1" ]
}
member_id_of() { # I NAME: NAME's member ID in hex, from host I
	ectl "$1" member list | awk -F', ' -v n="$2" '$3 == n { print $1 }'
}
# removed_via_h1 ID: member ID is gone, removed now or by a try before
# whose answer timed out. A remove sent while the killed member's peers
# elect another leader is dropped by raft and times out, so it is tried
# again.
removed_via_h1() {
	local list
	ectl 1 member remove "$1" >/dev/null 2>&1 && return 0
	list=$(ectl 1 member list) || return 1
	! printf '%s\n' "$list" | grep -q "^$1, "
}

net_up 6
zone_std 3

# ---- plan on a client, and --role member ----------------------------
run_plan 4 "${FLAGS[@]}" --json || fail "zooinit plan on h4 failed: $(cat "$WORK/h4/plan.log")"
sed -n '/^{/,/^}/p' "$WORK/h4/plan.log" >"$WORK/h4/plan.json"
assert_eq "$(jq -r '[.role, .source, (.members | length)] | join(" ")' "$WORK/h4/plan.json")" \
	"client dns 3" "plan on h4: role client, 3 members from DNS"
jq -r .role_reason "$WORK/h4/plan.json" >"$WORK/h4/role.txt"
assert_contains "$WORK/h4/role.txt" "$(host_ip 4), ::1"
assert_contains "$WORK/h4/role.txt" "by local interface addresses) is not among the targets of _etcd-server._tcp.$ZONE (h2.$ZONE=$(host_ip 2), h1.$ZONE=$(host_ip 1), h3.$ZONE=$(host_ip 3))"
assert_contains "$WORK/h4/role.txt" "with role auto it serves clients through etcd's grpc-proxy"
assert_eq "$(jq -r '.etcd_argv[1:3] | join(" ")' "$WORK/h4/plan.json")" "grpc-proxy start" \
	"plan on h4: etcd grpc-proxy"
run_plan 4 "${FLAGS[@]}" || fail "zooinit plan on h4 (text) failed"
assert_contains "$WORK/h4/plan.log" "role:        client (this host (127.0.0.1, $(host_ip 4)"
rc=0
run_plan 4 "${FLAGS[@]}" --role member || rc=$?
assert_eq "$rc" 100 "plan --role member on h4 exits 100"
assert_contains "$WORK/h4/plan.log" "is not among the targets of _etcd-server._tcp.$ZONE"
assert_contains "$WORK/h4/plan.log" "role is member"
rc=0
run_plan 1 "${FLAGS[@]}" --role client || rc=$?
assert_eq "$rc" 100 "plan --role client on the listed h1 exits 100"
assert_contains "$WORK/h1/plan.log" "role is client, but _etcd-server._tcp.$ZONE lists this host as member h1.$ZONE"

# ---- five hosts, one command -----------------------------------------
for i in 1 2 3 4 5; do run_agent "$i" "${FLAGS[@]}"; done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the cluster did not form"
assert_eq "$(cluster_member_names 1 | tr '\n' ' ')" "h1 h2 h3 " \
	"the members are the three hosts the zone lists"
for i in 4 5; do
	log=$WORK/h$i/agent.log
	wait_for "h$i logs 'proxy healthy'" 60 \
		grep -qF "proxy healthy: serving clients for the cluster of 3" "$log" ||
		fail "h$i did not log 'proxy healthy'"
	assert_contains "$log" "plan: 3 members from _etcd-server._tcp.$ZONE; this host is a client"
	assert_contains "$log" "is not among the targets of _etcd-server._tcp.$ZONE"
	assert_contains "$log" "starting etcd grpc-proxy as"
	assert_contains "$log" "on http://$(host_ip "$i"):2379"
	[ ! -e "$WORK/h$i/data/member" ] || fail "the client h$i has member data"
	[ ! -e "$WORK/h$i/data.zooinit/journal.json" ] || fail "the client h$i wrote a journal"
	wait_for "h$i serves a put and a quorum get" 30 client_serves "$i" "k$i" "via h$i" ||
		fail "etcdctl through http://$(host_ip "$i"):2379 failed"
done
assert_eq "$(ectl 2 get k4 --print-value-only)" "via h4" "a key put through client h4 reads back through member h2"
ectl 1 put before "put via h1" >/dev/null || fail "put through h1 failed"
assert_eq "$(ectl 5 get before --print-value-only)" "put via h1" "a key put through member h1 reads back through client h5"
ok "clients serve reads and writes through their proxies"

# ---- a member replaced while the clients serve -------------------------
id3=$(member_id_of 1 h3)
[ -n "$id3" ] || fail "no member ID for h3"
mapfile -t pids < <(ns_pids 3)
kill -9 "${pids[@]}" 2>/dev/null
agent_wait 3 10 2>/dev/null || true
say "h3 killed; removing member $id3 and publishing h6 instead"
wait_for "member $id3 removed through h1" 30 removed_via_h1 "$id3" ||
	fail "member remove of h3 failed"
mapfile -t lines < <(zone_lines 2)
lines+=("srv-host=_etcd-server._tcp.$ZONE,h6.$ZONE,2380,0,10"
	"host-record=h6.$ZONE,$(host_ip 6)")
dns_zone "${lines[@]}"
run_agent 6 "${FLAGS[@]}"
for i in 4 5; do
	wait_for "h$i follows the zone" 60 \
		grep -qF "planning again: the zone's members changed from" "$WORK/h$i/agent.log" ||
		fail "h$i did not notice the new member set"
	wait_for "h$i's proxy talks to h1, h2 and h6" 60 proxy_towards "$i" ||
		fail "h$i's proxy does not name h6"
done
wait_for "3 voting members again (h1 h2 h6)" 120 members_are "h1 h2 h6 " ||
	fail "h6 did not become a member"
for i in 4 5; do
	wait_for "h$i reads the key from before" 30 reads_before "$i" ||
		fail "h$i does not read the key written before the fault"
	wait_for "h$i serves a put and a quorum get after" 30 client_serves "$i" "after$i" "x$i" ||
		fail "h$i does not serve after the replacement"
	agent_alive "$i" || fail "the agent of client h$i exited"
done
ok "the clients follow the member replaced"
