#!/bin/bash
# Sourced by the v3 token tests after lib.sh: a plain one-member etcd as
# the discovery service, holding a token in etcd's v3 layout.

# disc_etcd_up I TOKEN SIZE [ETCD]: starts ETCD (default /usr/bin/etcd) in
# host I on its address, ports 2379/2380, data and log under $WORK/hI, and
# puts /_etcd/registry/TOKEN/_config/size = SIZE; fails the test if it
# cannot.
disc_etcd_up() {
	local i=$1 tok=$2 size=$3 bin=${4:-/usr/bin/etcd} a
	a=$(host_ip "$i")
	mkdir -p "$WORK/h$i"
	ip netns exec "$(host_ns "$i")" "$bin" --name disc \
		--data-dir "$WORK/h$i/disc" \
		--listen-client-urls "http://$a:2379" --advertise-client-urls "http://$a:2379" \
		--listen-peer-urls "http://$a:2380" --initial-advertise-peer-urls "http://$a:2380" \
		--initial-cluster "disc=http://$a:2380" >"$WORK/h$i/disc.log" 2>&1 </dev/null &
	wait_for "the discovery etcd answers" 60 ectl "$i" endpoint health ||
		fail "the discovery etcd did not start"
	ectl "$i" put "/_etcd/registry/$tok/_config/size" "$size" >/dev/null ||
		fail "cannot create the token's size key"
	ok "token $tok of size $size in the v3 layout at http://$a:2379"
}

# disc_registry_is I TOKEN VALUES: the token at the discovery etcd in host
# I holds exactly VALUES ("h1=URL h2=URL ", sorted, each followed by a
# space), each under the member ID the cluster (asked through host 1) gave
# that member: etcd's own v3 layout, .../members/<ID in hex>.
disc_registry_is() {
	local i=$1 tok=$2 want=$3
	ectl "$i" get --prefix "/_etcd/registry/$tok/members" --print-value-only |
		sed '/^$/d' | sort >"$WORK/entries.txt"
	assert_eq "$(tr '\n' ' ' <"$WORK/entries.txt")" "$want" \
		"the token holds exactly the registrations $want"
	# etcdctl prints IDs in hex without leading zeros, as etcd names keys.
	ectl "$i" get --prefix "/_etcd/registry/$tok/members" --keys-only |
		sed -n "s|^/_etcd/registry/$tok/members/||p" | sort >"$WORK/keys.txt"
	ectl 1 member list | awk -F', ' '{ print $1 }' | sort >"$WORK/ids.txt"
	assert_eq "$(cat "$WORK/keys.txt")" "$(cat "$WORK/ids.txt")" \
		"the registry keys are the cluster's member IDs"
}
