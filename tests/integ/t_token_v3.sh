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
# (members/NAME), a token setting other than the discovery token, a
# member with two peer URLs among the first size, an entry etcd counts
# that is not a registration etcd writes.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_disc.sh
. "$(dirname "$0")/lib_disc.sh"
need_zooinit

DISC=4
TOK=v3tok
net_up 5

# The discovery etcd: its own ports on host 4's address, data in $WORK.
D=$(host_ip "$DISC")
disc_etcd_up "$DISC" "$TOK" 3

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

# What the agents wrote: one key per member, etcd's layout.
disc_registry_is "$DISC" "$TOK" \
	"h1=http://$NET.1:2380 h2=http://$NET.2:2380 h3=http://$NET.3:2380 "
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

# refused TOKEN KEY VALUE CODE TEXT WHAT [PLAN ARGS...]: a token of size 3
# holding KEY (under members/) = VALUE; `zooinit plan` in h5 on it exits
# CODE and says TEXT. An empty KEY puts nothing. Not in h4: the discovery
# etcd's address is h4's, so a plan there would be the seed's host, whose
# port 2379 is also the member's (refused before any token is read).
refused() {
	local tok=$1 key=$2 value=$3 code=$4 text=$5 what=$6 rc=0
	shift 6
	ectl "$DISC" put "/_etcd/registry/$tok/_config/size" 3 >/dev/null ||
		fail "cannot create token $tok"
	if [ -n "$key" ]; then
		ectl "$DISC" put "/_etcd/registry/$tok/members/$key" "$value" \
			>/dev/null || fail "cannot put $key under token $tok"
	fi
	run_plan 5 --sources token --discovery-endpoints "http://$D:2379" \
		--discovery-token "$tok" --name h6 "$@" || rc=$?
	assert_eq "$rc" "$code" "plan on $what exits $code"
	assert_contains "$WORK/h5/plan.log" "$text"
}

# A token in zooinit's old v3 layout: a fresh token is needed.
refused oldtok h9 "h9=http://$NET.9:2380" 100 \
	"token oldtok holds \"/_etcd/registry/oldtok/members/h9\" in zooinit's old layout" \
	"an old-layout token"
# token set to something else than the v3 discovery token.
refused "$TOK" "" "" 2 \
	"token is set to \"other\", but with v3 discovery etcd takes the discovery token $TOK" \
	"a token setting other than the v3 discovery token" --token other
# A plain etcd member with two peer URLs among the first size: zooinit plans
# one peer URL per member. The key is the ID etcd derives: SHA-1 over the
# sorted URLs and the token, 8 bytes, hex without leading zeros.
id=$(printf '%s' "http://$NET.8:2380http://$NET.9:2380multitok" | sha1sum |
	cut -c1-16 | sed 's/^0*//')
refused multitok "$id" "hm=http://$NET.8:2380,hm=http://$NET.9:2380" 100 \
	"member hm registered 2 peer URLs under token multitok" \
	"a token with a two-URL member"
# An entry etcd counts (its value holds "=") but that is no registration
# etcd would write: never skipped, or zooinit and etcd could pick different
# first members.
refused badtok zzz "a=b" 100 \
	"etcd counts it as a member, so zooinit cannot tell who the first 3 are" \
	"a token with an unreadable entry"
ok "old layout, a conflicting token, two-URL members, unreadable entries: refused"
