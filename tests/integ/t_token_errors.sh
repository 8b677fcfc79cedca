#!/bin/bash
# Discovery-token failures, each with its exit code and sentence, and no
# etcd member started by the failing agent (no etcd process, no member/ in
# its data dir). Host 4 holds the discovery service.
#  (a) two hosts both --name h2 (size 3, a third agent h3): the later
#      registrant exits 100 "already registered under token"; the others
#      keep waiting at 2/3
#  (b) a 3-member cluster formed with token T; h3's agent stopped (SIGTERM),
#      its data dir deleted, started again with the same flags: exits 100
#      "was used to bootstrap cluster"
#  (c) a token without _config/size (.../registry/nosuchtoken): exits 100
#      "has no _config/size key" after the ~10 s grace
#  (e) nothing ever listens at the discovery address, --resolve-timeout 5:
#      exits 111 "gave up on discovery token" in about 5 s
#  (d) nothing listens at first (--resolve-timeout 60); about 5 s later
#      `zooinit discovery serve --discovery-token T --size 3` starts there:
#      the agents log "discovery service unreachable", then form the cluster
# Every case runs in the layout the seed serves: v2 token URLs where etcd
# has the v2 API (3.4, 3.5), else (3.6+) the v3 endpoints and token (the
# agents then take --discovery-endpoints URL --discovery-token T); the
# sentences are the same, but for where (c)'s size key was looked for.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

SEED=4
SEED_EP="http://$(host_ip "$SEED"):4001"

# stop_serve: SIGTERM to the running discovery serve; it must exit 0 within
# 20 s and leave no etcd in the seed's host.
stop_serve() {
	local n rc=0
	kill -TERM "$SERVE_PID" 2>/dev/null
	for ((n = 0; n < 100; n++)); do
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.2
	done
	kill -0 "$SERVE_PID" 2>/dev/null && fail "discovery serve still runs 20 s after SIGTERM"
	wait "$SERVE_PID" || rc=$?
	assert_eq "$rc" 0 "discovery serve exits 0 on SIGTERM"
	no_etcd() { [ -z "$(etcd_pids "$SEED")" ]; }
	wait_for "no etcd left in h$SEED" 10 no_etcd || fail "the seed etcd still runs in h$SEED"
}

# tok_agent I NAME LINE ARGS...: a token-only agent in host I on the token
# LINE (what discovery serve prints: lib.sh disc_parse).
tok_agent() {
	local i=$1 name=$2
	disc_parse "$3"
	shift 3
	run_agent "$i" --sources token "${DISC[@]}" --name "$name" "$@"
}
# tok_line TOKEN: the settings line for TOKEN at the seed, in the layout
# the seed serves (V2=1: a v2 token URL).
tok_line() {
	if [ "$V2" = 1 ]; then
		printf '%s\n' "$SEED_EP/v2/keys/_etcd/registry/$1"
	else
		printf '%s\n' "--discovery-endpoints $SEED_EP --discovery-token $1"
	fi
}

# expect_exit I SECS CODE WHAT: agent I exits with CODE within SECS.
expect_exit() {
	local i=$1 secs=$2 code=$3 what=$4 start=$SECONDS
	agent_wait "$i" "$secs" || fail "$what: agent h$i still runs after $secs s"
	say "$what: agent h$i exited with $AGENT_RC after $((SECONDS - start)) s"
	assert_eq "$AGENT_RC" "$code" "$what: agent h$i exits $code"
}

# no_member I WHAT: no etcd runs in host I and its data dir has no member/.
no_member() {
	local p
	p=$(etcd_pids "$1")
	[ -z "$p" ] || fail "$2: etcd runs in h$1: pid $p"
	[ ! -e "$WORK/h$1/data/member" ] || fail "$2: $WORK/h$1/data/member exists"
	ok "$2: h$1 started no etcd member (no etcd process, no member/)"
}

# stop_agents I...: SIGTERM to each running agent; each exits 0 within 30 s.
stop_agents() {
	local i
	for i in "$@"; do agent_alive "$i" && agent_signal "$i" TERM; done
	for i in "$@"; do
		[ -n "$(agent_pid "$i")" ] || continue
		agent_wait "$i" 30 || fail "agent h$i still runs 30 s after SIGTERM"
		assert_eq "$AGENT_RC" 0 "agent h$i exits 0 on SIGTERM"
	done
}
fresh_data() { # I...: remove the data dirs of stopped agents
	local i
	for i in "$@"; do rm -rf "$WORK/h$i/data"; done
}
# line_no FILE SUBSTRING: the number of the first line with SUBSTRING.
line_no() { grep -nF -m1 -- "$2" "$1" | cut -d: -f1; }

net_up 4

run_serve "$SEED" seed --size 3
WAIT_IGNORE_AGENTS=1 wait_for "discovery serve prints a token URL" 60 \
	serve_printed_url "$SEED" seed "$SERVE_PID" || fail "discovery serve printed no URL"
URL_A=$(serve_url "$SEED" seed) || fail "discovery serve exited without a URL (see h$SEED/seed.log)"
disc_parse "$URL_A"
TOK_A=$TOK
V2=0
[ "${DISC[0]}" = --discovery ] && V2=1
ok "seed in h$SEED, token $URL_A"

# ---------------------------------------------------------------- (a)
say "(a) two hosts register the name h2"
tok_agent 1 h2 "$URL_A" --size 3
wait_for "(a) h1 registers as h2" 30 \
	grep -qF "registered h2=http://$(host_ip 1):2380 under token $TOK_A" "$WORK/h1/agent.log" ||
	fail "(a) h1 did not register as h2"
tok_agent 3 h3 "$URL_A" --size 3
wait_for "(a) h3 registers" 30 \
	grep -qF "registered h3=http://$(host_ip 3):2380 under token $TOK_A" "$WORK/h3/agent.log" ||
	fail "(a) h3 did not register"
tok_agent 2 h2 "$URL_A" --size 3
expect_exit 2 30 100 "(a) the later h2"
assert_contains "$WORK/h2/agent.log" \
	"member h2 already registered under token $TOK_A with peer URL http://$(host_ip 1):2380; names must be unique: set --name"
no_member 2 "(a)"
for i in 1 3; do
	wait_for "(a) h$i waits at 2 of 3" 20 \
		grep -qF "peers 2/3 registered under token $TOK_A (h2, h3); waiting for the others" \
		"$WORK/h$i/agent.log" || fail "(a) h$i does not report 2/3 registered"
	agent_alive "$i" || fail "(a) h$i exited"
	no_member "$i" "(a)"
done
ok "(a) the first h2 and h3 keep waiting"
stop_agents 1 3
fresh_data 1 2 3

# ---------------------------------------------------------------- (b)
say "(b) a token reused by a host that lost its data"
rc=0
timeout -k 2 30 ip netns exec "$(host_ns 1)" "$ZOOINIT" discovery new --size 3 \
	--endpoint "$SEED_EP" >"$WORK/new_b.out" 2>"$WORK/new_b.log" </dev/null || rc=$?
assert_eq "$rc" 0 "(b) zooinit discovery new exits 0"
URL_B=$(head -n 1 "$WORK/new_b.out")
disc_parse "$URL_B"
TOK_B=$TOK
case $URL_B in
"$(tok_line "")"?*) ok "(b) discovery new printed $URL_B" ;;
*) fail "(b) discovery new printed '$URL_B', want $(tok_line TOKEN)" ;;
esac
[ "$TOK_B" != "$TOK_A" ] || fail "(b) discovery new gave the same token again"
# A named token (README: discovery_token is "the token discovery serve and
# discovery new create").
rc=0
timeout -k 2 30 ip netns exec "$(host_ns 1)" "$ZOOINIT" discovery new --size 3 \
	--discovery-token tok-b-named --endpoint "$SEED_EP" \
	>"$WORK/new_named.out" 2>"$WORK/new_named.log" </dev/null || rc=$?
assert_eq "$rc" 0 "(b) zooinit discovery new --discovery-token tok-b-named exits 0"
assert_eq "$(head -n 1 "$WORK/new_named.out")" "$(tok_line tok-b-named)" \
	"(b) discovery new prints the named token's settings"
for i in 1 2 3; do tok_agent "$i" "h$i" "$URL_B" --health-interval 1; done
wait_for "(b) 3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "(b) the cluster did not form"
ectl 1 put reuse-key v1 >/dev/null || fail "(b) put through h1 failed"
agent_signal 3 TERM
agent_wait 3 30 || fail "(b) agent h3 still runs 30 s after SIGTERM"
assert_eq "$AGENT_RC" 0 "(b) agent h3 exits 0 on SIGTERM"
[ -z "$(etcd_pids 3)" ] || fail "(b) h3's etcd still runs"
fresh_data 3
tok_agent 3 h3 "$URL_B" --health-interval 1
expect_exit 3 40 100 "(b) h3 with an empty data dir"
assert_contains "$WORK/h3/agent.log" "token $TOK_B was used to bootstrap cluster"
assert_contains "$WORK/h3/agent.log" "where member h3 already started, but $WORK/h3/data holds none of its data"
no_member 3 "(b)"
wait_for "(b) h1 and h2 still serve" 20 ectl 1 get reuse-key ||
	fail "(b) the remaining members lost quorum"
stop_agents 1 2
fresh_data 1 2 3

# ---------------------------------------------------------------- (c)
say "(c) a token without a size key"
start=$SECONDS
tok_agent 1 h1 "$(tok_line nosuchtoken)"
expect_exit 1 45 100 "(c)"
took=$((SECONDS - start))
if [ "$V2" = 1 ]; then
	where="$SEED_EP/v2/keys/_etcd/registry/nosuchtoken"
else
	where=/_etcd/registry/nosuchtoken/_config/size
fi
assert_contains "$WORK/h1/agent.log" "token nosuchtoken has no _config/size key at $where"
[ "$took" -ge 9 ] || fail "(c) gave up after $took s, before the 10 s grace"
ok "(c) the missing key was asked again for the grace ($took s)"
no_member 1 "(c)"
fresh_data 1

stop_serve

# ---------------------------------------------------------------- (e)
say "(e) the discovery service never answers"
URL_E=$(tok_line tok-e)
start=$SECONDS
tok_agent 1 h1 "$URL_E" --resolve-timeout 5
expect_exit 1 30 111 "(e)"
took=$((SECONDS - start))
assert_contains "$WORK/h1/agent.log" "discovery service unreachable"
assert_contains "$WORK/h1/agent.log" "gave up on discovery token tok-e"
if [ "$took" -lt 4 ] || [ "$took" -gt 15 ]; then
	fail "(e) exited after $took s with --resolve-timeout 5"
fi
ok "(e) gave up after $took s (--resolve-timeout 5)"
no_member 1 "(e)"
fresh_data 1

# ---------------------------------------------------------------- (d)
say "(d) the discovery service comes up after the agents"
TOK_D=tok-d
URL_D=$(tok_line "$TOK_D")
started=$SECONDS
for i in 1 2 3; do
	tok_agent "$i" "h$i" "$URL_D" --resolve-timeout 60 --health-interval 1
done
for i in 1 2 3; do
	wait_for "(d) h$i finds the discovery service unreachable" 10 \
		grep -qF "discovery service unreachable" "$WORK/h$i/agent.log" ||
		fail "(d) h$i did not report the discovery service unreachable"
done
while [ $((SECONDS - started)) -lt 5 ]; do sleep 0.5; done
for i in 1 2 3; do agent_alive "$i" || fail "(d) agent h$i exited while waiting"; done

run_serve "$SEED" seed-d --discovery-token "$TOK_D" --size 3
WAIT_IGNORE_AGENTS=1 wait_for "(d) discovery serve prints the token URL" 60 \
	serve_printed_url "$SEED" seed-d "$SERVE_PID" || fail "(d) discovery serve printed no URL"
kill -0 "$SERVE_PID" 2>/dev/null ||
	fail "(d) 'zooinit discovery serve --discovery-token $TOK_D --size 3' exited: $(tail -n 3 "$WORK/h$SEED/seed-d.log")"
assert_eq "$(serve_url "$SEED" seed-d)" "$URL_D" "(d) discovery serve prints $URL_D"
say "(d) the seed serves $((SECONDS - started)) s after the agents started"

wait_for "(d) 3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "(d) the cluster did not form"
for i in 1 2 3; do
	f=$WORK/h$i/agent.log
	assert_contains "$f" "plan: 3 of 3 registered under token $TOK_D"
	u=$(line_no "$f" "discovery service unreachable")
	p=$(line_no "$f" "plan: 3 of 3 registered under token $TOK_D")
	[ "$u" -lt "$p" ] || fail "(d) h$i: 'unreachable' (line $u) is not before the plan (line $p)"
	[ -d "$WORK/h$i/data/member" ] || fail "(d) h$i: no member/ in its data dir"
done
ok "(d) every agent said the service was unreachable, then formed the cluster"
ectl 1 put late-key "hello" >/dev/null || fail "(d) put through h1 failed"
assert_eq "$(ectl 3 get late-key --print-value-only)" hello "(d) a key put through h1 reads back through h3"
