#!/bin/bash
# More agents than the token's size: host 5 runs `zooinit discovery serve
# --size 3`; four agents in h1..h4 start together with the token URL (or
# the v3 endpoint and token it prints on an etcd without v2, 3.6+). The
# first three to register become the members: exactly 3 voting members and
# one leader; the fourth logs that the cluster is full without it, runs
# `etcd grpc-proxy` on its client port and logs "proxy healthy"; it has no
# member data. A key put through a member reads back through the extra's
# 10.99.0.X:2379 (gRPC), and a key put through the extra reads back through
# a member.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

SEED=5

# The agents that say they are extras / that started an etcd member.
extras() { grep -lF "the cluster is full without this host" "$WORK"/h[1-4]/agent.log 2>/dev/null; }
members() { grep -lF "starting etcd as h" "$WORK"/h[1-4]/agent.log 2>/dev/null; }
all_planned() { [ "$(extras | wc -l)" -ge 1 ] && [ "$(members | wc -l)" -ge 3 ]; }
# members_healthy I...: each member host sees 3 started voting members and
# answers a quorum read; exactly one leader.
members_healthy() {
	local i m
	for i in "$@"; do
		m=$(cluster_members "$i")
		[ "$m" = 3 ] || {
			echo "h$i: $m started voting members"
			return 1
		}
		ectl "$i" endpoint health || return 1
	done
	m=$(cluster_leader_count "$1")
	echo "leaders: $m"
	[ "$m" = 1 ]
}
proxy_answers() { # I: a quorum read through the extra's gRPC proxy
	ectl "$1" get --consistency=l no-such-key >/dev/null
}

net_up 5

start_seed "$SEED" --size 3
ok "token $URL"

for i in 1 2 3 4; do
	run_agent "$i" --sources token "${DISC[@]}" --name "h$i" \
		--health-interval 1
done

wait_for "every agent has a plan" 60 all_planned || fail "the agents did not all plan"
mapfile -t ex < <(extras)
mapfile -t mem < <(members)
assert_eq "${#ex[@]}" 1 "exactly one agent is an extra"
assert_eq "${#mem[@]}" 3 "exactly three agents start an etcd member"
X=${ex[0]#"$WORK"/h}
X=${X%%/*}
M=()
for i in 1 2 3 4; do [ "$i" = "$X" ] || M+=("$i"); done
say "extra: h$X; members: h${M[0]} h${M[1]} h${M[2]}"

wait_for "3 voting members and one leader" 90 members_healthy "${M[@]}" ||
	fail "the cluster did not form"
assert_eq "$(cluster_members "${M[0]}")" 3 "exactly 3 started voting members"
assert_eq "$(cluster_leader_count "${M[0]}")" 1 "exactly one leader"
assert_eq "$(cluster_member_names "${M[0]}" | tr '\n' ' ')" \
	"h${M[0]} h${M[1]} h${M[2]} " "the members are the three other hosts"
ectl "${M[0]}" member list >"$WORK/members.txt" || fail "member list failed"
assert_not_contains "$WORK/members.txt" "h$X"
assert_not_contains "$WORK/members.txt" "$(host_ip "$X"):2380"

xlog=$WORK/h$X/agent.log
assert_contains "$xlog" "plan: 3 of 3 registered under token $TOK"
assert_contains "$xlog" "the cluster is full without this host (3 members registered first): serving clients through etcd's grpc-proxy"
assert_contains "$xlog" "starting etcd grpc-proxy as h$X on http://$(host_ip "$X"):2379"
wait_for "the extra h$X logs 'proxy healthy'" 60 \
	grep -qF "proxy healthy: serving clients for the cluster of 3" "$xlog" ||
	fail "h$X did not log 'proxy healthy'"
for i in "${M[@]}"; do
	assert_not_contains "$WORK/h$i/agent.log" "proxy healthy"
	assert_contains "$WORK/h$i/agent.log" "plan: 3 of 3 registered under token $TOK"
	[ -d "$WORK/h$i/data/member" ] || fail "member h$i: no member/ in its data dir"
done
[ ! -e "$WORK/h$X/data/member" ] || fail "the extra h$X has member/ in its data dir"
[ ! -e "$WORK/h$X/data.zooinit/journal.json" ] || fail "the extra h$X wrote a journal"
ok "only the members hold member data; the extra none"
pid=$(etcd_pids "$X")
[ -n "$pid" ] || fail "no etcd process in the extra h$X"
tr '\0' ' ' <"/proc/${pid%%$'\n'*}/cmdline" >"$WORK/proxy-cmdline.txt"
assert_contains "$WORK/proxy-cmdline.txt" "grpc-proxy start"

wait_for "the extra's proxy answers a quorum read" 30 proxy_answers "$X" ||
	fail "etcdctl through http://$(host_ip "$X"):2379 failed"
ectl "${M[0]}" put extra-key "put via h${M[0]}" >/dev/null ||
	fail "put through member h${M[0]} failed"
assert_eq "$(ectl "$X" get extra-key --print-value-only)" "put via h${M[0]}" \
	"a key put through member h${M[0]} reads back through the extra's $(host_ip "$X"):2379"
ectl "$X" put extra-key2 "put via h$X" >/dev/null ||
	fail "put through the extra h$X failed"
assert_eq "$(ectl "${M[2]}" get extra-key2 --print-value-only)" "put via h$X" \
	"a key put through the extra reads back through member h${M[2]}"
agent_alive "$X" || fail "the extra's agent exited"
