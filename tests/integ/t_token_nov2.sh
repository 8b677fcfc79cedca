#!/bin/bash
# Discovery tokens on an etcd without the v2 keys API (3.6 and later have
# none; 3.4 and 3.5 without --enable-v2 neither), so this runs on any etcd:
#  (a) h4 runs a plain etcd on 4001 without --enable-v2. `zooinit discovery
#      new --size 1 --endpoint http://10.99.0.4:4001/` exits 0 and prints
#      "--discovery-endpoints http://10.99.0.4:4001 --discovery-token T";
#      /_etcd/registry/T/_config/size is 1 in the v3 keyspace. h1's agent
#      with those flags forms a one-member cluster named h1 and registers
#      h1=http://10.99.0.1:2380 under the token. The same command with
#      --discovery-token T again exits 100: the token exists.
#  (b) h2's agent with the v2 URL http://10.99.0.4:4001/v2/keys/_etcd/
#      registry/T exits 100 within 20 s with one sentence naming the URL
#      and telling to use discovery_endpoints and discovery_token; it
#      starts no etcd.
#  (c) h3 owns the address of the v2 token URL http://10.99.0.3:4001/v2/
#      keys/_etcd/registry/t3, nothing answers there, and its etcd (a
#      stand-in that says it is 3.6.16) has no v2 API: the agent exits 100
#      saying that URL needs the v2 API and to set discovery_endpoints =
#      http://10.99.0.3:4001 and discovery_token = t3; no seed was started.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

DISC_HOST=4
EP="http://$(host_ip "$DISC_HOST"):4001"

net_up 4

# (a) a plain etcd without the v2 API, and a token made there.
d=$WORK/h$DISC_HOST
mkdir -p "$d"
printf '%s h%s: etcd (no --enable-v2) on %s\n' "$(date +%T)" "$DISC_HOST" "$EP" >>"$WORK/commands.log"
ip netns exec "$(host_ns "$DISC_HOST")" etcd --name disc --data-dir "$d/etcd" \
	--listen-client-urls "$EP" --advertise-client-urls "$EP" \
	--listen-peer-urls "http://$(host_ip "$DISC_HOST"):7001" \
	--initial-advertise-peer-urls "http://$(host_ip "$DISC_HOST"):7001" \
	--initial-cluster "disc=http://$(host_ip "$DISC_HOST"):7001" \
	>"$d/etcd.log" 2>&1 </dev/null &
disc_up() {
	timeout -k 2 10 ip netns exec "$(host_ns "$DISC_HOST")" curl -sf --max-time 3 "$EP/health" | grep -q true
}
wait_for "the discovery etcd in h$DISC_HOST is healthy" 60 disc_up ||
	fail "the plain etcd in h$DISC_HOST did not start (see h$DISC_HOST/etcd.log)"

# discovery_new I TAG ARGS...: `zooinit discovery new ARGS...` in host I,
# stdout in $WORK/hI/TAG.out, stderr in TAG.log; exit status in RC.
discovery_new() {
	local i=$1 tag=$2
	shift 2
	RC=0
	printf '%s h%s: %s discovery new %s\n' "$(date +%T)" "$i" "$ZOOINIT" "$*" >>"$WORK/commands.log"
	timeout -k 5 30 ip netns exec "$(host_ns "$i")" "$ZOOINIT" discovery new "$@" \
		>"$WORK/h$i/$tag.out" 2>"$WORK/h$i/$tag.log" </dev/null || RC=$?
}
discovery_new "$DISC_HOST" new --size 1 --endpoint "$EP/"
assert_eq "$RC" 0 "discovery new on an etcd without v2 exits 0"
LINE=$(head -n 1 "$WORK/h$DISC_HOST/new.out")
case $LINE in
"--discovery-endpoints $EP --discovery-token "?*) ok "discovery new printed '$LINE'" ;;
*) fail "discovery new printed '$LINE', want --discovery-endpoints $EP --discovery-token TOKEN" ;;
esac
assert_contains "$WORK/h$DISC_HOST/new.log" "$EP has no v2 keys API: creating the token in the v3 keyspace"
disc_parse "$LINE"
assert_eq "$(token_get "$DISC_HOST" _config/size)" 1 "the token's size is 1 in the v3 keyspace"

discovery_new "$DISC_HOST" new-again --size 1 --endpoint "$EP" --discovery-token "$TOK"
assert_eq "$RC" 100 "discovery new with an existing token exits 100"
assert_contains "$WORK/h$DISC_HOST/new-again.log" "token $TOK exists already at $EP"

run_agent 1 --sources token "${DISC[@]}" --name h1 --health-interval 1
wait_for "a one-member cluster in h1" 60 cluster_healthy 1 || fail "h1 formed no cluster"
assert_eq "$(cluster_member_names 1)" h1 "the member is h1"
assert_eq "$(token_members "$DISC_HOST")" "h1=http://$(host_ip 1):2380" \
	"h1 registered under the v3 token"
assert_contains "$WORK/h1/agent.log" "plan: 1 of 1 registered under token $TOK"

# (b) a v2 token URL at that etcd: a clear error, not a retry loop.
V2URL="$EP/v2/keys/_etcd/registry/$TOK"
run_agent 2 --sources token --discovery "$V2URL" --name h2 --resolve-timeout 60
agent_wait 2 20 || fail "h2's agent still runs 20 s after a v2 URL at an etcd without v2"
assert_eq "$AGENT_RC" 100 "a v2 token URL at an etcd without v2 exits 100"
assert_contains "$WORK/h2/agent.log" \
	"the discovery token URL $V2URL needs etcd's v2 keys API, which the etcd there does not serve"
assert_contains "$WORK/h2/agent.log" \
	"use v3 discovery instead: discovery_endpoints = $EP and discovery_token = $TOK"
assert_not_contains "$WORK/h2/agent.log" "retrying"
[ -z "$(etcd_pids 2)" ] || fail "h2 started an etcd"
ok "h2 started no etcd"

# (c) this host owns the v2 URL's address but its etcd has no v2 API.
fake=$WORK/etcd-3.6
cat >"$fake" <<'SH'
#!/bin/sh
case "$1" in --version) echo "etcd Version: 3.6.16"; exit 0 ;; esac
echo "the stand-in etcd must not be started: $*" >&2
exit 2
SH
chmod +x "$fake"
EP3="http://$(host_ip 3):4001"
run_agent 3 --sources token --discovery "$EP3/v2/keys/_etcd/registry/t3" --name h3 \
	--size 3 --etcd "$fake" --seed-data-dir "$WORK/h3/seed"
agent_wait 3 30 || fail "h3's agent still runs 30 s after its seed could not serve v2"
assert_eq "$AGENT_RC" 100 "the seed owner with a v2 URL and an etcd without v2 exits 100"
assert_contains "$WORK/h3/agent.log" \
	"the v2 token URL $EP3/v2/keys/_etcd/registry/t3 needs the v2 keys API, which the seed etcd $fake (3.6.16) does not have"
assert_contains "$WORK/h3/agent.log" \
	"set discovery_endpoints = $EP3 and discovery_token = t3 instead of discovery"
assert_not_contains "$WORK/h3/agent.log" "the stand-in etcd must not be started"
[ ! -e "$WORK/h3/seed" ] || fail "h3 created a seed data dir"
ok "h3 started no seed"
