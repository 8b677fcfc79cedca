#!/bin/bash
# Discovery through a token in etcd 3.6's v3 layout: host 4 runs a plain
# one-member etcd (no v2 API) holding /_etcd/registry/T/_config/size = 3;
# agents in h1..h3 with --discovery-endpoints http://HOST4:2379
# --discovery-token T register in etcd's own layout,
# /_etcd/registry/T/members/<member ID> = hI=URL (create-if-absent through
# the v3 JSON gateway), watch until three have registered, and form one
# cluster: 3 voting members, one leader, a key put through h1 reads back
# through h3; the registry keys name the member IDs the cluster has (etcd
# was given the discovery token as its initial cluster token). A fourth
# agent (h5) becomes the extra and serves reads through etcd's grpc-proxy.
# Refused with a clear message: a token in zooinit's old layout
# (members/NAME), and a token setting other than the discovery token.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

DISC=4
TOK=v3tok
net_up 5

# The discovery etcd: its own ports on host 4's address, data in $WORK.
D=$(host_ip "$DISC")
mkdir -p "$WORK/h$DISC"
ip netns exec "$(host_ns "$DISC")" /usr/bin/etcd --name disc \
	--data-dir "$WORK/h$DISC/disc" \
	--listen-client-urls "http://$D:2379" --advertise-client-urls "http://$D:2379" \
	--listen-peer-urls "http://$D:2380" --initial-advertise-peer-urls "http://$D:2380" \
	--initial-cluster "disc=http://$D:2380" >"$WORK/h$DISC/disc.log" 2>&1 </dev/null &
wait_for "the discovery etcd answers" 60 ectl "$DISC" endpoint health ||
	fail "the discovery etcd did not start"
ectl "$DISC" put "/_etcd/registry/$TOK/_config/size" 3 >/dev/null ||
	fail "cannot create the token's size key"
ok "token $TOK of size 3 in the v3 layout at http://$D:2379"

for i in 1 2 3; do
	run_agent "$i" --sources token --discovery-endpoints "http://$D:2379" \
		--discovery-token "$TOK" --name "h$i" --health-interval 1
done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the cluster did not form"
assert_eq "$(cluster_member_names 1 | tr '\n' ' ')" "h1 h2 h3 " \
	"members are named by --name"
ectl 1 put v3-key "hello from h1" >/dev/null || fail "put through h1 failed"
assert_eq "$(ectl 3 get v3-key --print-value-only)" "hello from h1" \
	"a key put through h1 reads back through h3"

# What the agents wrote: one key per member, "name=peerURL".
ectl "$DISC" get --prefix "/_etcd/registry/$TOK/members" --print-value-only \
	| sed '/^$/d' | sort >"$WORK/entries.txt"
assert_eq "$(tr '\n' ' ' <"$WORK/entries.txt")" \
	"h1=http://$NET.1:2380 h2=http://$NET.2:2380 h3=http://$NET.3:2380 " \
	"the token holds exactly the three registrations"
# ... under the member IDs etcd computed itself (etcdctl prints them in
# hex without leading zeros, as etcd names its discovery keys).
ectl "$DISC" get --prefix "/_etcd/registry/$TOK/members" --keys-only |
	sed -n "s|^/_etcd/registry/$TOK/members/||p" | sort >"$WORK/keys.txt"
ectl 1 member list | awk -F', ' '{ print $1 }' | sort >"$WORK/ids.txt"
assert_eq "$(wc -l <"$WORK/keys.txt")" 3 "three registry keys"
assert_eq "$(cat "$WORK/keys.txt")" "$(cat "$WORK/ids.txt")" \
	"the registry keys are the cluster's member IDs"
for i in 1 2 3; do
	assert_contains "$WORK/h$i/agent.log" "discovery token $TOK (v3)"
	assert_contains "$WORK/h$i/agent.log" "plan: 3 of 3 registered under token $TOK"
done

# A fifth agent: the token is full, so it serves through grpc-proxy.
run_agent 5 --sources token --discovery-endpoints "http://$D:2379" \
	--discovery-token "$TOK" --name h5 --health-interval 1
wait_for "h5 logs proxy healthy" 60 grep -qF "proxy healthy" "$WORK/h5/agent.log" ||
	fail "h5 did not become a healthy proxy"
assert_eq "$(cluster_members 1)" 3 "still 3 voting members"
assert_eq "$(ectl 5 get v3-key --print-value-only)" "hello from h1" \
	"the extra serves the key through its local port"
ok "v3 discovery: cluster formed, extra proxies"

# A token in zooinit's old v3 layout: refused, a fresh token is needed.
ectl "$DISC" put "/_etcd/registry/oldtok/_config/size" 3 >/dev/null &&
	ectl "$DISC" put "/_etcd/registry/oldtok/members/h9" \
		"h9=http://$NET.9:2380" >/dev/null ||
	fail "cannot create the old-layout token"
RC=0
run_plan 4 --sources token --discovery-endpoints "http://$D:2379" \
	--discovery-token oldtok --name h4 || RC=$?
assert_eq "$RC" 100 "plan on an old-layout token exits 100"
assert_contains "$WORK/h4/plan.log" \
	"token oldtok holds \"/_etcd/registry/oldtok/members/h9\" in zooinit's old layout"
# token set to something else than the v3 discovery token: refused.
RC=0
run_plan 4 --sources token --discovery-endpoints "http://$D:2379" \
	--discovery-token "$TOK" --name h4 --token other || RC=$?
assert_eq "$RC" 2 "plan with token != the v3 discovery token exits 2"
assert_contains "$WORK/h4/plan.log" \
	"token is set to \"other\", but with v3 discovery etcd takes the discovery token $TOK"
ok "old-layout tokens and a conflicting token setting are refused"
