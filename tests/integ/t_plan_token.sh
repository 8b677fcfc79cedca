#!/bin/bash
# `zooinit plan` on a discovery token that is not full answers at once
# (issue #11, item 8). Host 4 runs `zooinit discovery serve --size 3`; the
# agent in h1 registers h1 and waits for the others. Then, with the default
# resolve_timeout (2 minutes):
#  - `zooinit plan --json` in h2 exits 0 within 10 s and says source
#    "token", state "waiting", registered 1 of size 3, members [h1] with
#    h1's peer URL, and this_host h2 with the peer URL it would register,
#    not registered;
#  - `zooinit plan` (text) in h2 says the same: "1/3 registered: h1", "would
#    register h2=http://10.99.0.2:2380", "state:       waiting";
#  - `zooinit plan --json` in h1 marks h1 as this host, registered;
#  - the token still holds only h1's registration: plan registers nothing.
# The token is what the seed prints: a v2 token URL on etcd 3.4 and 3.5,
# the v3 endpoints and token on 3.6+ (lib.sh disc_parse); "the token URL"
# above is then "token T at ENDPOINT".
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

SEED=4

# token_entries: the registrations under the token, one "name=url" per
# line, sorted, read from inside the seed's host.
token_entries() { token_members "$SEED"; }

# plan_json I OUT ARGS...: `zooinit plan --json` in host I, bounded; exit
# status in RC, whole seconds taken in TOOK, the JSON object in $WORK/OUT.
plan_json() {
	local i=$1 out=$2 start=$SECONDS
	shift 2
	RC=0
	run_plan "$i" --json "$@" || RC=$?
	TOOK=$((SECONDS - start))
	sed -n '/^{/,/^}/p' "$WORK/h$i/plan.log" >"$WORK/$out"
	jq -e . "$WORK/$out" >/dev/null || fail "plan --json in h$i printed no JSON object (see h$i/plan.log)"
}

net_up 4

start_seed "$SEED" --size 3
ok "token: $URL"

run_agent 1 --sources token "${DISC[@]}" --name h1
wait_for "h1 registers under the token" 30 \
	grep -qF "registered h1=http://$(host_ip 1):2380 under token $TOK" "$WORK/h1/agent.log" ||
	fail "h1 did not register under token $TOK"
assert_eq "$(token_entries | tr '\n' ' ')" "h1=http://$NET.1:2380 " \
	"the token holds h1's registration only"

# h2: not registered, plan answers at once.
plan_json 2 h2.json --sources token "${DISC[@]}" --name h2
say "plan --json in h2 exited with $RC after $TOOK s"
assert_eq "$RC" 0 "plan --json on a token 1/3 full exits 0"
[ "$TOOK" -le 10 ] || fail "plan --json took $TOOK s; it must answer at once"
ok "plan --json answered within 10 s"
assert_eq "$(jq -r '[.source, .state, .role, .name] | join(" ")' "$WORK/h2.json")" \
	"token waiting member h2" "JSON: source token, state waiting, this host h2"
assert_eq "$(jq -r .source_detail "$WORK/h2.json")" "$DISC_DETAIL" "JSON: source_detail names the token"
assert_eq "$(jq -r '"\(.registered)/\(.size)"' "$WORK/h2.json")" 1/3 "JSON: 1 of 3 registered"
assert_eq "$(jq -c '[.members[] | [.name, .peer_url, .self]]' "$WORK/h2.json")" \
	"[[\"h1\",\"http://$NET.1:2380\",false]]" "JSON: the registered members are [h1]"
assert_eq "$(jq -c '[.this_host.name, .this_host.peer_url, .this_host.registered]' "$WORK/h2.json")" \
	"[\"h2\",\"http://$NET.2:2380\",false]" "JSON: h2 would register h2=http://$NET.2:2380"
assert_contains "$WORK/h2.json" "1/3 registered: h1; plan does not register this host"

# The same in text.
start=$SECONDS
rc=0
run_plan 2 --sources token "${DISC[@]}" --name h2 || rc=$?
assert_eq "$rc" 0 "plan (text) on a token 1/3 full exits 0"
[ $((SECONDS - start)) -le 10 ] || fail "plan (text) took $((SECONDS - start)) s"
assert_contains "$WORK/h2/plan.log" "source:      token ($DISC_DETAIL)"
assert_contains "$WORK/h2/plan.log" "state:       waiting (1/3 registered: h1; plan does not register this host)"
assert_contains "$WORK/h2/plan.log" "would register h2=http://$NET.2:2380"
assert_contains "$WORK/h2/plan.log" "registered:  1 of 3"

# h1: registered by its agent; plan says so.
plan_json 1 h1.json --sources token "${DISC[@]}" --name h1
assert_eq "$RC" 0 "plan --json in the registered h1 exits 0"
[ "$TOOK" -le 10 ] || fail "plan --json in h1 took $TOOK s"
assert_eq "$(jq -r '[.state, (.members[] | select(.self) | .name), .this_host.registered] | join(" ")' "$WORK/h1.json")" \
	"waiting h1 true" "JSON in h1: waiting, h1 is this host and registered"

assert_eq "$(token_entries | tr '\n' ' ')" "h1=http://$NET.1:2380 " \
	"plan registered nothing: the token still holds h1 only"
[ ! -e "$WORK/h2/data/member" ] || fail "zooinit plan created member/ in h2"
ok "no member/ in h2's data dir"
