#!/bin/bash
# A service larger than one etcd transaction: h1 bootstraps a one-member
# etcd; 129 registrations of a custom service "big" of size 130 are written
# through the registry keys as docs/registry.md documents them (size
# create-if-absent, nodes/<ip> = <ip> bound to a lease); then `zooinit
# cluster` on h1 registers as the 130th. The set must seal once (etcd takes
# at most 128 operations per transaction), every ids/<ip> key must exist
# with ids 1..130 once each and agree with the sealed value, h1 must get
# its id, and an ids/<ip> key deleted by hand is written back.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

net_up 1
zone_std 1
mkdir -p "$WORK/h1"
run_agent 1 --size 1
wait_for "a one-member etcd" 90 cluster_healthy 1 ||
	fail "etcd did not come up"

SIZE=130
PFX=/zooinit/services/big
fake_ip() { printf '10.77.%s.%s\n' "$(($1 / 200))" "$(($1 % 200 + 1))"; }

# The other 129 nodes, as a node registers: size if absent, then its
# lease-bound nodes/<ip>, in this order (registration order is the order
# of the nodes/ keys' creation).
ectl 1 txn <<EOF >/dev/null || fail "cannot write the size key"
create("$PFX/size") = "0"

put $PFX/size $SIZE


EOF
lease=$(ectl 1 lease grant 600 | awk '/granted/ { print $2 }')
[ -n "$lease" ] || fail "no lease granted"
for ((i = 1; i < SIZE; i++)); do
	ip=$(fake_ip "$i")
	ectl 1 put --lease="$lease" "$PFX/nodes/$ip" "$ip" >/dev/null ||
		fail "cannot register $ip"
done
assert_eq "$(ectl 1 get --prefix --keys-only "$PFX/nodes/" | grep -c .)" 129 \
	"129 registrations written"

cat >"$WORK/big.conf" <<EOF
service = {
  big = {
    size = $SIZE;
    quorum_timeout = 120;
    data_dir = "$WORK/h1/big";
  };
};
EOF
ip netns exec "$(host_ns 1)" "$ZOOINIT" cluster -f "$WORK/big.conf" \
	--endpoints "http://$(host_ip 1):2379" big >"$WORK/h1/big.log" 2>&1 </dev/null &
BIG=$!

sealed_here() {
	grep -q 'member set sealed; this node is participant' "$WORK/h1/big.log"
}
wait_for "the set of $SIZE sealed" 90 sealed_here || {
	grep -m3 'sealing' "$WORK/h1/big.log"
	fail "a set of $SIZE never sealed"
}
kill -0 "$BIG" 2>/dev/null || fail "zooinit cluster exited"
assert_not_contains "$WORK/h1/big.log" "more than 128"
my_id=$(sed -n 's/.*this node is participant \([0-9]*\) of .*/\1/p' "$WORK/h1/big.log" | head -n 1)
assert_eq "$my_id" "$SIZE" "h1, registered last, is participant $SIZE"

sealed=$(ectl 1 get "$PFX/sealed" --print-value-only)
n_members=$(grep -o '"ip":' <<<"$sealed" | grep -c .)
assert_eq "$n_members" "$SIZE" "the sealed value lists $SIZE members"
assert_eq "$(ectl 1 get "$PFX/next_id" --print-value-only)" $((SIZE + 1)) \
	"next_id follows the set"

# ids_all: every ids/<ip> key, "IP ID" per line.
ids_all() {
	ectl 1 get --prefix "$PFX/ids/" | paste - - | sed "s|^$PFX/ids/||"
}
ids_complete() {
	[ "$(ids_all | grep -c .)" = "$SIZE" ]
}
wait_for "all $SIZE ids/<ip> keys" 30 ids_complete ||
	fail "only $(ids_all | grep -c .) of $SIZE ids/<ip> keys exist"
ids_all >"$WORK/ids"
assert_eq "$(awk '{ print $2 }' "$WORK/ids" | sort -n | uniq | tr '\n' ' ')" \
	"$(seq -s ' ' 1 "$SIZE") " "ids 1..$SIZE, once each"
assert_eq "$(awk -v ip="$(host_ip 1)" '$1 == ip { print $2 }' "$WORK/ids")" "$SIZE" \
	"ids/$(host_ip 1) holds h1's id"
# Each key agrees with the sealed value.
while read -r ip id; do
	case $sealed in
	*"{\"id\":$id,\"ip\":\"$ip\"}"*) ;;
	*) fail "ids/$ip = $id is not in the sealed value" ;;
	esac
done <"$WORK/ids"
ok "every ids/<ip> agrees with the sealed value"

# A missing ids/<ip> (a sealing node that died half-way) is written back.
victim=$(fake_ip 7)
want=$(awk -v ip="$victim" '$1 == ip { print $2 }' "$WORK/ids")
ectl 1 del "$PFX/ids/$victim" >/dev/null || fail "cannot delete ids/$victim"
back() { [ "$(ectl 1 get "$PFX/ids/$victim" --print-value-only)" = "$want" ]; }
wait_for "ids/$victim written back" 30 back || fail "ids/$victim stayed missing"

kill -TERM "$BIG"
for ((i = 0; i < 100; i++)); do
	kill -0 "$BIG" 2>/dev/null || break
	sleep 0.2
done
kill -0 "$BIG" 2>/dev/null && fail "zooinit cluster did not stop on SIGTERM"
rc=0
wait "$BIG" || rc=$?
assert_eq "$rc" 0 "zooinit cluster exited 0"
