#!/bin/bash
# zooinit status against a real 3-member cluster: asked through h1 it exits
# 0 and shows h1..h3 as healthy voters with exactly one leader (the one
# etcdctl reports) and their real IDs; --json says the same; without
# --endpoints it finds this host's member through the journal in the data
# dir. Without service keys it shows no services ("services": []); with a
# registry written by etcdctl it shows service zk (sealed 3 + a standby,
# its leader, started and booted flags), a broken service with the key to
# blame, an escaped hostile name, and a registry too large to read as
# unreadable, all with exit 0. With h3's agent stopped (and so its etcd)
# it exits 1 and names h3; with only dead endpoints it exits 111 within
# its time bound.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

# run_status I NAME ARGS...: `zooinit status ARGS...` in host I, bounded to
# 30 s; stdout in $WORK/NAME.out, stderr in $WORK/NAME.stderr.log, exit
# status in RC, seconds taken in TOOK.
run_status() {
	local i=$1 name=$2 start=$SECONDS
	shift 2
	RC=0
	printf '%s h%s: %s status %s\n' "$(date +%T)" "$i" "$ZOOINIT" "$*" \
		>>"$WORK/commands.log"
	timeout -k 5 30 ip netns exec "$(host_ns "$i")" "$ZOOINIT" status "$@" \
		>"$WORK/$name.out" 2>"$WORK/$name.stderr.log" </dev/null || RC=$?
	TOOK=$((SECONDS - start))
}
show() { sed 's/^/    /' "$WORK/$1"; }
# Rows of the table: NAME ID ROLE [*] HEALTH ...; the LEADER cell is empty
# for all but the leader, so match on the line rather than on columns.
row() { grep -E "^$2 " "$WORK/$1.out"; }
count() { grep -cE -- "$2" "$WORK/$1.out"; }
# etcdctl's member list gives IDs in hex without leading zeros.
member_id() { # I NAME: NAME's ID as 16 hex digits, from etcdctl via host I
	local id
	id=$(ectl "$1" member list | awk -F', ' -v n="$2" '$3 == n { print $1 }')
	[ -n "$id" ] || return 1
	while [ "${#id}" -lt 16 ]; do id=0$id; done
	printf '%s\n' "$id"
}
# The name of the member etcdctl says is the leader (asked through host I).
etcd_leader() {
	local url i
	url=$(ectl "$1" endpoint status --cluster -w fields | leader_endpoints)
	for i in 1 2 3; do
		[ "$url" = "http://$(host_ip "$i"):2379" ] && echo "h$i"
	done
	return 0
}

net_up 3
zone_std 3
for i in 1 2 3; do
	run_agent "$i" --size 3 --health-interval 1
done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the cluster did not form"

# ---- a healthy cluster, through h1's client URL
run_status 1 healthy --endpoints "http://$(host_ip 1):2379"
say "zooinit status --endpoints http://$(host_ip 1):2379 (exit $RC):"
show healthy.out
assert_eq "$RC" 0 "status of a healthy cluster exits 0"
[ -s "$WORK/healthy.stderr.log" ] && fail "status wrote to stderr: $(cat "$WORK/healthy.stderr.log")"
assert_contains "$WORK/healthy.out" "NAME"
assert_contains "$WORK/healthy.out" "CLIENT URL"
leader=$(etcd_leader 1)
[ -n "$leader" ] || fail "etcdctl names no leader"
for i in 1 2 3; do
	id=$(member_id 1 "h$i") || fail "etcdctl lists no h$i"
	r=$(row healthy "h$i") || fail "no row for h$i"
	[[ $r =~ ^h$i\ +$id\ +voter\ +(\*\ +)?healthy\ +3\.[0-9.]+\ +[0-9.]+\ [kMG]?B\ +http://$(host_ip "$i"):2380\ +http://$(host_ip "$i"):2379$ ]] ||
		fail "h$i's row is not 'h$i $id voter [*] healthy VERSION SIZE URLS': '$r'"
	if [ "h$i" = "$leader" ]; then
		[[ $r =~ \ \*\  ]] || fail "h$i leads (etcdctl) but its row has no '*': '$r'"
	else
		[[ $r =~ \ \*\  ]] && fail "h$i does not lead but its row has '*': '$r'"
	fi
done
ok "h1, h2, h3 are healthy voters with etcdctl's IDs, URLs and leader ($leader)"
assert_eq "$(count healthy ' voter +\* +healthy ')" 1 "exactly one leader in the table"
assert_eq "$(count healthy '^cluster [0-9a-f]{16}: 3 members \(3 voters\), leader '"$leader"', healthy$')" 1 \
	"summary: 3 members (3 voters), leader $leader, healthy"
assert_eq "$(count healthy '^service |^services:')" 0 "no service keys: no services in the table"

# ---- the same as JSON (checked without python)
run_status 1 healthy-json --json --endpoints "http://$(host_ip 1):2379"
assert_eq "$RC" 0 "status --json of a healthy cluster exits 0"
show healthy-json.out | head -n 30
assert_eq "$(count healthy-json '^  "cluster_id": "[0-9a-f]{16}",$')" 1 "JSON: cluster_id in hex"
assert_eq "$(count healthy-json '^  "healthy": true,$')" 1 "JSON: the cluster is healthy"
assert_eq "$(count healthy-json '^  "leader": "'"$leader"'",$')" 1 "JSON: leader $leader"
assert_eq "$(count healthy-json '^      "healthy": true,$')" 3 "JSON: 3 healthy members"
assert_eq "$(count healthy-json '^      "learner": false,$')" 3 "JSON: 3 voters"
assert_eq "$(count healthy-json '^      "leader": true,$')" 1 "JSON: one member is the leader"
assert_eq "$(count healthy-json '^      "error": null,$')" 3 "JSON: no member has an error"
assert_eq "$(count healthy-json '^  "services": \[\],$')" 1 "JSON: services is an empty list"
assert_eq "$(count healthy-json '^  "services_error": null$')" 1 "JSON: services_error is null"
for i in 1 2 3; do
	assert_contains "$WORK/healthy-json.out" "\"name\": \"h$i\""
	assert_contains "$WORK/healthy-json.out" "\"id\": \"$(member_id 1 "h$i")\""
done
if command -v python3 >/dev/null; then
	python3 - "$WORK/healthy-json.out" <<'EOF' || fail "the JSON does not parse or is incomplete"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["healthy"] is True and o["services"] == [], o
assert o["services_error"] is None, o
assert sorted(m["name"] for m in o["members"]) == ["h1", "h2", "h3"], o
assert sum(m["leader"] for m in o["members"]) == 1, o
for m in o["members"]:
    assert m["healthy"] and not m["learner"] and m["error"] is None, m
    assert isinstance(m["db_size"], int) and m["db_size"] > 0, m
    assert m["version"].startswith("3."), m
    assert len(m["id"]) == 16 and len(m["peer_urls"]) == 1, m
EOF
	ok "the JSON parses (python3) and says the same"
fi

# ---- the service registry (agent/registry.h), written by hand: zk has a
# sealed set of h2, h1, h3 (ids 1, 2, 3: registration order, not address
# order), a standby 10.99.0.4 with id 4, h2 as its leader, all three
# started and h2 booted; "bad" has a registration that is no address; the
# third name holds an escape sequence.
R=/zooinit/services
reg_put() { # KEY VALUE: put $R/KEY through h1
	ectl 1 put -- "$R/$1" "$2" >/dev/null || fail "etcdctl put $R/$1 $2 failed"
}
ip1=$(host_ip 1) ip2=$(host_ip 2) ip3=$(host_ip 3) ip4=$NET.4
reg_put zk/size 3
for ip in "$ip2" "$ip1" "$ip3" "$ip4"; do reg_put "zk/nodes/$ip" "$ip"; done
reg_put zk/sealed '{"size":3,"members":[{"id":1,"ip":"'"$ip2"'"},{"id":2,"ip":"'"$ip1"'"},{"id":3,"ip":"'"$ip3"'"}]}'
reg_put "zk/ids/$ip2" 1
reg_put "zk/ids/$ip1" 2
reg_put "zk/ids/$ip3" 3
reg_put "zk/ids/$ip4" 4
reg_put zk/next_id 5
reg_put zk/leader "$ip2"
reg_put "zk/started/$ip2" 1
reg_put "zk/started/$ip1" 2
reg_put "zk/started/$ip3" 3
reg_put "zk/booted/$ip2" 1
reg_put bad/size 1
reg_put bad/nodes/010.99.0.1 x
evil=$(printf 'e\033[1mvil')
reg_put "$evil/size" 1

run_status 1 services --endpoints "http://$ip1:2379"
say "zooinit status with a service registry (exit $RC):"
show services.out
assert_eq "$RC" 0 "status with services exits 0 (the cluster is healthy)"
[ -s "$WORK/services.stderr.log" ] && fail "status wrote to stderr: $(cat "$WORK/services.stderr.log")"
assert_eq "$(count services '^service zk: size 3, sealed, leader '"$ip2"'$')" 1 \
	"service zk: size 3, sealed, leader $ip2"
assert_eq "$(count services '^  ID +ADDRESS +ROLE +REGISTERED +STARTED +BOOTED$')" 1 \
	"one node table (ID ADDRESS ROLE REGISTERED STARTED BOOTED): only zk has nodes"
# zk's rows, in this order, right after its line.
grep -A5 '^service zk:' "$WORK/services.out" | tail -n 4 >"$WORK/zk-rows.txt"
i=0
for want in "1 $ip2 participant yes yes yes" "2 $ip1 participant yes yes no" \
	"3 $ip3 participant yes yes no" "4 $ip4 standby yes no no"; do
	i=$((i + 1))
	got=$(sed -n "${i}p" "$WORK/zk-rows.txt" | tr -s ' ' | sed 's/^ //')
	assert_eq "$got" "$want" "zk row $i"
done
assert_contains "$WORK/services.out" "service bad: registry unreadable: registry key $R/bad/nodes/010.99.0.1: expected a unicast IP address after nodes/"
assert_eq "$(count services '^service e\?\[1mvil: size 1, not sealed, no leader$')" 1 \
	"the escape in a service name is shown as '?'"
assert_eq "$(grep -c $'\033' "$WORK/services.out")" 0 "no raw escape byte reaches the terminal"
assert_eq "$(count services '^cluster [0-9a-f]{16}: 3 members \(3 voters\), leader '"$leader"', healthy$')" 1 \
	"the cluster summary is unchanged"

run_status 1 services-json --json --endpoints "http://$ip1:2379"
assert_eq "$RC" 0 "status --json with services exits 0"
jq . "$WORK/services-json.out" >/dev/null || fail "status --json is not JSON: $(cat "$WORK/services-json.out")"
jqs() { jq -c "$1" "$WORK/services-json.out"; }
assert_eq "$(jqs '[.services[].name]')" '["bad","e\u001b[1mvil","zk"]' "JSON: three services, sorted, the name escaped"
assert_eq "$(jqs '.services_error')" null "JSON: services_error is null"
assert_eq "$(jqs '.services[] | select(.name == "zk") | [.size, .sealed, .leader, .error]')" \
	'[3,true,"'"$ip2"'",null]' "JSON: zk has size 3, is sealed, leader $ip2"
assert_eq "$(jqs '.services[] | select(.name == "zk") | .nodes')" \
	'[{"id":1,"ip":"'"$ip2"'","role":"participant","registered":true,"started":true,"booted":true},{"id":2,"ip":"'"$ip1"'","role":"participant","registered":true,"started":true,"booted":false},{"id":3,"ip":"'"$ip3"'","role":"participant","registered":true,"started":true,"booted":false},{"id":4,"ip":"'"$ip4"'","role":"standby","registered":true,"started":false,"booted":false}]' \
	"JSON: zk's nodes in sealed order, then the standby"
assert_eq "$(jqs '.services[] | select(.name == "bad")')" \
	'{"name":"bad","error":"registry key '"$R"'/bad/nodes/010.99.0.1: expected a unicast IP address after nodes/"}' \
	"JSON: bad has only its error"
assert_eq "$(jqs '.services[1] | [.size, .sealed, .leader, .nodes]')" '[1,false,null,[]]' \
	"JSON: the escaped one has size 1, no seal, no leader, no nodes"

# A lost standby: its registration lease is gone, its id stays.
ectl 1 del "$R/zk/nodes/$ip4" >/dev/null || fail "etcdctl del failed"
run_status 1 services-gone --json --endpoints "http://$ip1:2379"
assert_eq "$(jq -c '.services[] | select(.name == "zk") | .nodes[3]' "$WORK/services-gone.out")" \
	'{"id":4,"ip":"'"$ip4"'","role":"standby","registered":false,"started":false,"booted":false}' \
	"JSON: a standby without nodes/ is not registered but keeps id 4"

# A registry larger than status reads (4 MiB) is reported, not fatal.
head -c 1200000 /dev/zero | tr '\0' x >"$WORK/blob"
for i in 1 2 3 4; do
	ectl 1 put "$R/big/blob$i" <"$WORK/blob" >/dev/null || fail "etcdctl put of a 1.2 MB value failed"
done
run_status 1 services-big --endpoints "http://$ip1:2379"
show services-big.out
assert_eq "$RC" 0 "status with an unreadable registry still exits 0"
assert_contains "$WORK/services-big.out" "services: registry unreadable: POST http://$ip1:2379/v3/kv/range: response larger than 4 MiB"
assert_eq "$(count services-big '^service ')" 0 "no service is listed"
run_status 1 services-big-json --json --endpoints "http://$ip1:2379"
assert_eq "$RC" 0 "status --json with an unreadable registry exits 0"
assert_eq "$(jq -c '[.healthy, .services, .services_error]' "$WORK/services-big-json.out")" \
	'[true,[],"POST http://'"$ip1"':2379/v3/kv/range: response larger than 4 MiB"]' \
	"JSON: services [] and services_error says why"
ectl 1 del --prefix "$R/big/" >/dev/null || fail "etcdctl del --prefix $R/big/ failed"
rm -f "$WORK/blob"

# ---- no --endpoints: this host's member from the journal beside the data dir
run_status 2 journal --data-dir "$WORK/h2/data"
assert_eq "$RC" 0 "status --data-dir (the journal, no --endpoints) in h2 exits 0"
assert_eq "$(count journal '^h[123] +[0-9a-f]{16} +voter +(\* +)?healthy ')" 3 \
	"it lists h1, h2, h3 as healthy voters"
mkdir -p "$WORK/empty"
run_status 2 nojournal --data-dir "$WORK/empty"
assert_eq "$RC" 2 "status with neither --endpoints nor a journal exits 2"
assert_contains "$WORK/nojournal.stderr.log" "pass --endpoints"

# ---- h3 stopped: the cluster answers but is unhealthy
agent_signal 3 TERM
agent_wait 3 30 || fail "agent h3 still runs 30 s after SIGTERM"
no_etcd3() { [ -z "$(etcd_pids 3)" ]; }
wait_for "h3's etcd is gone" 10 no_etcd3 || fail "h3's etcd still runs"
# Until h1 and h2 agree on a leader (h3 may have been it), status may
# also find no leader; wait for the settled view.
h3_only_down() {
	run_status 1 degraded --endpoints "http://$(host_ip 1):2379"
	cat "$WORK/degraded.out"
	[ "$RC" = 1 ] &&
		[ "$(count degraded '^h[12] .* voter +(\* +)?healthy ')" = 2 ] &&
		[ "$(count degraded ' voter +\* +healthy ')" = 1 ]
}
wait_for "status shows h1, h2 healthy with a leader, h3 down" 30 h3_only_down ||
	fail "status did not settle on 'h3 down, h1 and h2 healthy'"
say "zooinit status with h3 stopped (exit $RC):"
show degraded.out
assert_eq "$RC" 1 "status of a cluster with a member down exits 1"
r=$(row degraded h3) || fail "no row for h3"
[[ $r =~ \ voter\ +unhealthy:\ connection\ refused\ +-\ +-\ +http:// ]] ||
	fail "h3's row does not say 'unhealthy: connection refused': '$r'"
ok "h3 is shown as unhealthy: connection refused"
assert_eq "$(count degraded '^cluster [0-9a-f]{16}: 3 members \(3 voters\), leader h[12], unhealthy: voter h3 is not healthy$')" 1 \
	"summary names h3 as the unhealthy voter"
run_status 1 degraded-json --json --endpoints "http://$(host_ip 1):2379"
assert_eq "$RC" 1 "status --json exits 1 as well"
assert_eq "$(count degraded-json '^  "healthy": false,$')" 1 "JSON: the cluster is not healthy"
assert_contains "$WORK/degraded-json.out" "\"error\": \"GET http://$(host_ip 3):2379/health: connection refused\""

# The first endpoint that answers is used: h3's is dead, h2's answers.
run_status 1 fallback --endpoints "http://$(host_ip 3):2379,http://$(host_ip 2):2379"
assert_eq "$RC" 1 "status through a dead and a live endpoint exits 1 (h3 down)"
assert_eq "$(count fallback '^h[123] ')" 3 "it still lists all three members"

# ---- nobody answers
run_status 1 dead --endpoints "http://$(host_ip 3):2379"
assert_eq "$RC" 111 "status against a dead endpoint only exits 111"
assert_contains "$WORK/dead.stderr.log" "no etcd endpoint answered the member list (http://$(host_ip 3):2379: connection refused)"
[ -s "$WORK/dead.out" ] && fail "status printed to stdout with nobody answering"
# 10.99.0.9 is no host: connecting hangs until status's 3 s limit (or
# until ARP gives up, about as long: then it is "no route to host").
run_status 1 silent --endpoints "http://$NET.9:2379"
assert_eq "$RC" 111 "status against an address nobody holds exits 111"
grep -qE "http://$NET\.9:2379: (no answer within 3 s|no route to host)" \
	"$WORK/silent.stderr.log" ||
	fail "silent.stderr.log does not say why $NET.9 gave no answer: $(cat "$WORK/silent.stderr.log")"
[ "$TOOK" -le 8 ] || fail "status took $TOOK s against a silent address"
ok "and gives up after $TOOK s"
