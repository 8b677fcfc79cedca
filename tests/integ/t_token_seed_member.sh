#!/bin/bash
# The seed runs on a member: the discovery URL's address is h1's
# (http://10.99.0.1:4001/v2/keys/_etcd/registry/tok1) and nothing answers
# there, so h1's agent starts the seed itself; all three agents get the
# same flags (--size 3 --seed-grace 5). The cluster forms (3 voting
# members, one leader, a key put through h1 reads back through h3), only h1
# starts a seed, and SEED_GRACE seconds after the cluster is healthy h1
# stops it: nothing listens on 4001/7001 in h1 and no seed etcd runs there,
# while h1's agent and member keep running and the cluster stays healthy.
# On an etcd without the v2 API (3.6+) the agents use v3 discovery instead
# (--discovery-endpoints http://10.99.0.1:4001 --discovery-token tok1) and
# the seed keeps the token in the v3 keyspace.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

SEED_GRACE=5
TOK=tok1
EP="http://$(host_ip 1):4001"
if etcd_has_v2; then
	URL="$EP/v2/keys/_etcd/registry/$TOK"
	READY="seed ready: discovery token $URL (size 3)"
else
	URL="--discovery-endpoints $EP --discovery-token $TOK"
	READY="seed ready: discovery token $TOK at $EP (size 3, v3 keys)"
fi
disc_parse "$URL"

# ns_listens I PORT: something listens on TCP PORT in host I.
ns_listens() {
	timeout 5 ip netns exec "$(host_ns "$1")" ss -Hltn "sport = :$2" | grep -q .
}
# seed_pids I: processes in host I whose command line has zooinit-seed
# (the seed etcd's --name).
seed_pids() {
	local p
	for p in $(ns_pids "$1"); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q 'zooinit-seed' && echo "$p"
	done
	return 0
}
no_seed_in() { # I
	local p
	p=$(seed_pids "$1")
	[ -z "$p" ] || {
		echo "seed processes in h$1: $p"
		return 1
	}
	if ns_listens "$1" 4001 || ns_listens "$1" 7001; then
		echo "h$1 still listens on 4001 or 7001"
		return 1
	fi
	return 0
}

net_up 3
for i in 1 2 3; do
	run_agent "$i" --sources token "${DISC[@]}" --name "h$i" \
		--size 3 --seed-grace "$SEED_GRACE" \
		--seed-data-dir "$WORK/h$i/seed" --health-interval 1
done

wait_for "h1 starts the seed" 30 \
	grep -qF "$READY" "$WORK/h1/agent.log" ||
	fail "h1 did not report the seed ready"
assert_contains "$WORK/h1/agent.log" \
	"no discovery service answers at ${DISC[1]}, which is this host's address: starting the seed"
assert_contains "$WORK/h1/agent.log" \
	"starting the seed discovery etcd on http://$(host_ip 1):4001 (data in $WORK/h1/seed)"
[ -n "$(seed_pids 1)" ] || fail "no seed etcd (zooinit-seed) runs in h1"
ns_listens 1 4001 || fail "nothing listens on 4001 in h1 though the seed is ready"
ok "the seed etcd runs in h1 and listens on 4001"

wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the cluster did not form"
healthy_at=$SECONDS
assert_eq "$(cluster_members 1)" 3 "3 started voting members"
assert_eq "$(cluster_leader_count 1)" 1 "exactly one leader"
assert_eq "$(cluster_member_names 1 | tr '\n' ' ')" "h1 h2 h3 " \
	"members are named by --name"
ectl 1 put tok-key "hello from h1" >/dev/null || fail "put through h1 failed"
assert_eq "$(ectl 3 get tok-key --print-value-only)" "hello from h1" \
	"a key put through h1 reads back through h3"

for i in 1 2 3; do
	assert_contains "$WORK/h$i/agent.log" "plan: 3 of 3 registered under token $TOK"
	[ -d "$WORK/h$i/data/member" ] || fail "h$i: no member/ in the data dir"
done
for i in 2 3; do
	assert_not_contains "$WORK/h$i/agent.log" "starting the seed"
	[ ! -e "$WORK/h$i/seed" ] || fail "h$i created a seed data dir"
	[ -z "$(seed_pids "$i")" ] || fail "a seed runs in h$i"
done
ok "only h1 started a seed"
# h2 and h3 may have come before the seed answered: they said so and waited.
for i in 2 3; do
	if grep -qF "discovery service unreachable" "$WORK/h$i/agent.log"; then
		say "h$i found the discovery service unreachable at first and waited"
	fi
done

# The seed outlives the healthy cluster by SEED_GRACE seconds, then stops.
wait_for "h1 schedules the seed's stop" 30 \
	grep -qF "the seed discovery etcd stops in $SEED_GRACE s (seed_grace)" "$WORK/h1/agent.log" ||
	fail "h1 did not schedule the seed's stop"
wait_for "h1 logs that the seed has stopped" $((SEED_GRACE + 30)) \
	grep -qF "the seed discovery etcd has stopped" "$WORK/h1/agent.log" ||
	fail "h1 did not stop the seed within $((SEED_GRACE + 30)) s"
assert_contains "$WORK/h1/agent.log" "stopping the seed discovery etcd (seed_keep = stop)"
say "the seed stopped $((SECONDS - healthy_at)) s after the cluster was healthy"
wait_for "no seed etcd and no listener on 4001/7001 in h1" 15 no_seed_in 1 ||
	fail "the seed is still there in h1"
ok "the seed is gone from h1"
agent_alive 1 || fail "h1's agent exited with the seed"
[ -n "$(etcd_pids 1)" ] || fail "h1's etcd member is gone"
ns_listens 1 2379 || fail "h1's member no longer listens on 2379"
ok "h1's agent and member still run"
wait_for "the cluster stays healthy without the seed" 20 cluster_healthy 3 ||
	fail "the cluster is unhealthy once the seed is gone"
assert_eq "$(ectl 2 get tok-key --print-value-only)" "hello from h1" \
	"the key still reads back through h2"
