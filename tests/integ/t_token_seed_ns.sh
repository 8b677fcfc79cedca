#!/bin/bash
# Discovery through a token in a seed that runs in its own host: host 4 runs
# `zooinit discovery serve --size 3`, which prints the token URL (on an
# etcd without the v2 API, 3.6+: "--discovery-endpoints URL
# --discovery-token TOKEN", and the token lives in the v3 keyspace); agents
# in h1..h3 with --sources token and those settings, --name hI, register
# and form one etcd cluster: 3 voting members named h1..h3 with their
# 10.99.0.I peer URLs, one leader, a key put through h1 reads back through
# h3. Each agent logs "plan: 3 of 3 registered under token T" and journals
# source "token". `zooinit plan --json` in h1, run before the agents,
# registers nothing and answers at once: source "token", state "waiting",
# 0 of 3 registered, this host h1; in a fifth host (not registered) after
# the cluster formed it says source "token", role "client", the same three
# members, and registers nothing either.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

SEED=4 # the host running the seed
PLANNER=5

# token_entries: the registrations under the token, one "name=url" per
# line, sorted, read from inside the seed's host.
token_entries() { token_members "$SEED"; }

net_up 5

start_seed "$SEED" --size 3
EP="http://$(host_ip "$SEED"):4001"
if etcd_has_v2; then
	case $URL in
	"$EP/v2/keys/_etcd/registry/"?*) ok "token URL $URL" ;;
	*) fail "discovery serve printed '$URL', want $EP/v2/keys/_etcd/registry/TOKEN" ;;
	esac
	assert_contains "$WORK/h$SEED/serve.log" "seed ready: discovery token $URL (size 3)"
else
	case $URL in
	"--discovery-endpoints $EP --discovery-token "?*) ok "v3 token: $URL" ;;
	*) fail "discovery serve printed '$URL', want --discovery-endpoints $EP --discovery-token TOKEN" ;;
	esac
	assert_contains "$WORK/h$SEED/serve.log" "seed ready: discovery token $TOK at $EP (size 3, v3 keys)"
	assert_not_contains "$WORK/h$SEED/serve.log" "enable-v2"
fi
assert_eq "$(token_get "$SEED" _config/size)" 3 "the token's _config/size is 3"

# zooinit plan in h1 before any agent: it must not register, and it
# answers at once that the token waits (it used to wait for the others).
start=$SECONDS
rc=0
run_plan 1 --json --sources token "${DISC[@]}" --name h1 || rc=$?
assert_eq "$rc" 0 "zooinit plan --json in h1 (before the agents) exits 0"
[ $((SECONDS - start)) -le 10 ] || fail "plan in h1 took $((SECONDS - start)) s; it must answer at once"
sed -n '/^{/,/^}/p' "$WORK/h1/plan.log" >"$WORK/h1/plan-before.out"
assert_eq "$(jq -r '[.source, .state, .name, .registered, .size] | join(" ")' "$WORK/h1/plan-before.out")" \
	"token waiting h1 0 3" "h1's plan: source token, waiting, this host h1, 0 of 3 registered"
assert_eq "$(token_entries | wc -l)" 0 "plan registered nothing under the token"

for i in 1 2 3; do
	run_agent "$i" --sources token "${DISC[@]}" --name "h$i" \
		--health-interval 1
done

wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the cluster did not form"
assert_eq "$(cluster_members 1)" 3 "3 started voting members"
assert_eq "$(cluster_leader_count 1)" 1 "exactly one leader"
assert_eq "$(cluster_member_names 1 | tr '\n' ' ')" "h1 h2 h3 " \
	"members are named by --name"
ectl 1 member list >"$WORK/members.txt" || fail "member list failed"
for i in 1 2 3; do
	assert_contains "$WORK/members.txt" \
		"h$i, http://$(host_ip "$i"):2380, http://$(host_ip "$i"):2379, false"
	[ -d "$WORK/h$i/data/member" ] || fail "h$i: no member/ in the data dir"
done
ok "every member lives in its --data-dir"

ectl 1 put tok-key "hello from h1" >/dev/null || fail "put through h1 failed"
assert_eq "$(ectl 3 get tok-key --print-value-only)" "hello from h1" \
	"a key put through h1 reads back through h3"

for i in 1 2 3; do
	assert_contains "$WORK/h$i/agent.log" "registered h$i=http://$(host_ip "$i"):2380 under token $TOK"
	assert_contains "$WORK/h$i/agent.log" "plan: 3 of 3 registered under token $TOK"
	wait_for "h$i logs that the cluster is healthy" 30 \
		grep -qF "cluster healthy: 3 members, leader" "$WORK/h$i/agent.log" ||
		fail "h$i: no 'cluster healthy: 3 members, leader' in agent.log"
	assert_eq "$(jq -r .source "$WORK/h$i/data.zooinit/journal.json")" token \
		"h$i's journal says source token"
done
assert_eq "$(jq -r .source_detail "$WORK/h1/data.zooinit/journal.json")" "$DISC_DETAIL" \
	"the journal's source_detail names the token"

token_entries >"$WORK/entries.txt"
assert_eq "$(tr '\n' ' ' <"$WORK/entries.txt")" \
	"h1=http://$NET.1:2380 h2=http://$NET.2:2380 h3=http://$NET.3:2380 " \
	"the token holds exactly the three registrations"

# A plan from a host that is not registered: the token is full, so it
# would be an extra; plan prints and registers nothing.
rc=0
run_plan "$PLANNER" --json --sources token "${DISC[@]}" --name "h$PLANNER" \
	--resolve-timeout 20 || rc=$?
assert_eq "$rc" 0 "zooinit plan --json in h$PLANNER exits 0"
sed -n '/^{/,/^}/p' "$WORK/h$PLANNER/plan.log" >"$WORK/plan.json"
jq -e . "$WORK/plan.json" >/dev/null || fail "plan --json printed no JSON object (see h$PLANNER/plan.log)"
assert_eq "$(jq -r .source "$WORK/plan.json")" token "the plan's source is token"
assert_eq "$(jq -r .source_detail "$WORK/plan.json")" "$DISC_DETAIL" "the plan's source_detail names the token"
assert_eq "$(jq -r .role "$WORK/plan.json")" client "the unregistered host's role is client"
assert_eq "$(jq -r '[.members[].name] | join(" ")' "$WORK/plan.json")" "h1 h2 h3" \
	"the plan lists h1 h2 h3"
assert_eq "$(jq -r '.initial_cluster' "$WORK/plan.json")" \
	"h1=http://$NET.1:2380,h2=http://$NET.2:2380,h3=http://$NET.3:2380" \
	"the plan's initial cluster"
token_entries >"$WORK/entries2.txt"
cmp -s "$WORK/entries.txt" "$WORK/entries2.txt" ||
	fail "zooinit plan changed the token: $(tr '\n' ' ' <"$WORK/entries2.txt")"
ok "zooinit plan registered nothing"
[ ! -e "$WORK/h$PLANNER/data/member" ] || fail "zooinit plan created member/"

# The seed still serves; SIGTERM stops it and it exits 0.
kill -TERM "$SERVE_PID"
rc=""
for ((n = 0; n < 100; n++)); do
	kill -0 "$SERVE_PID" 2>/dev/null || break
	sleep 0.2
done
kill -0 "$SERVE_PID" 2>/dev/null && fail "discovery serve still runs 20 s after SIGTERM"
wait "$SERVE_PID" || rc=$?
assert_eq "${rc:-0}" 0 "discovery serve exits 0 on SIGTERM"
[ -z "$(etcd_pids "$SEED")" ] || fail "the seed etcd still runs in h$SEED"
ok "no seed etcd left in h$SEED"
wait_for "the cluster stays healthy without the seed" 20 cluster_healthy 3 ||
	fail "the cluster is unhealthy once the seed is gone"
