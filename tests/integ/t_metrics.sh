#!/bin/bash
# Three agents in a DNS cluster, each with metrics_listen on its own
# address and a custom service: promtool accepts every page, which says
# the cluster formed from DNS with 3 members and one leader, the service
# runs (one leader key, an OnPostStart that failed once, a restart after
# its process is killed), a killed etcd's restart is counted; Debian's
# own prometheus scrapes the three and its query API answers the member
# count and the leader sum. The server stands hostile clients: an
# oversized head gets 431, a request that never ends 408 after its
# timeout, connections beyond the limit 503, other paths 404 and other
# methods 405; the agent serves on.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_metrics.sh
. "$(dirname "$0")/lib_metrics.sh"
need_zooinit
for c in promtool prometheus curl jq; do
	command -v "$c" >/dev/null ||
		fail "missing program: $c (Debian packages prometheus, curl, jq: make deps)"
done

net_up 3
zone_std 3
# A custom service on each host whose OnPostStart fails once, for the
# service and hook families.
cat >"$WORK/hook.sh" <<'SH'
#!/bin/sh
case $ZOOINIT_CLUSTER_EVENT in
OnStart) exec sleep 100000 ;;
OnPostStart)
	[ -e "$1/post.once" ] && exit 0
	: >"$1/post.once"
	exit 1
	;;
esac
exit 0
SH
chmod +x "$WORK/hook.sh"
for i in 1 2 3; do
	mkdir -p "$WORK/h$i"
	cat >"$WORK/h$i/zooinit.conf" <<-CONF
		services = ("app");
		service = { app = {
		  backend = "custom"; size = 3; health_interval = 1;
		  data_dir = "$WORK/h$i/app";
		  hooks = {
		    OnStart = ("$WORK/hook.sh", "$WORK/h$i");
		    OnPostStart = ("$WORK/hook.sh", "$WORK/h$i");
		    OnHealthCheck = ("$WORK/hook.sh", "$WORK/h$i");
		  };
		}; };
	CONF
	run_agent "$i" -f "$WORK/h$i/zooinit.conf" --size 3 --health-interval 1 \
		--metrics-listen "$(host_ip "$i"):$METRICS_PORT"
done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the cluster did not form"
for i in 1 2 3; do
	assert_contains "$WORK/h$i/agent.log" \
		"serving metrics on http://$(host_ip "$i"):$METRICS_PORT/metrics"
done

# Each page, once the agent's own check has seen the three members and
# the service runs.
APP='{service="app",backend="custom",state="running"}'
page_ready() { metrics_get "$1" >"$WORK/h$1.prom" &&
	[ "$(metrics_value "$WORK/h$1.prom" zooinit_cluster_members)" = 3 ] &&
	[ "$(metrics_value "$WORK/h$1.prom" "zooinit_service_state$APP")" = 1 ]; }
leaders=0 svc_leaders=0
for i in 1 2 3; do
	wait_for "h$i's page: 3 members, the service running" 30 page_ready "$i" ||
		fail "h$i: no page with 3 members and app running"
	promtool check metrics <"$WORK/h$i.prom" >"$WORK/h$i.promtool" 2>&1 ||
		fail "promtool check metrics refused h$i's page: $(cat "$WORK/h$i.promtool")"
	ok "promtool accepts h$i's page"
	f=$WORK/h$i.prom
	assert_eq "$(metrics_value "$f" 'zooinit_cluster_formation_info{source="dns"}')" 1 \
		"h$i: the cluster formed from DNS"
	assert_eq "$(metrics_value "$f" zooinit_cluster_voters)" 3 "h$i: 3 voters"
	assert_eq "$(metrics_value "$f" zooinit_cluster_healthy)" 1 "h$i: healthy"
	assert_eq "$(metrics_value "$f" zooinit_etcd_restarts_total)" 0 \
		"h$i: etcd never restarted"
	secs=$(metrics_value "$f" zooinit_cluster_formation_seconds) ||
		fail "h$i: no zooinit_cluster_formation_seconds"
	awk -v s="$secs" 'BEGIN { exit !(s > 0 && s < 90) }' ||
		fail "h$i: formation took $secs s?"
	ok "h$i: formed in $secs s"
	leaders=$((leaders + $(metrics_value "$f" zooinit_member_is_leader)))
	assert_eq "$(metrics_value "$f" 'zooinit_service_role{service="app",role="participant"}')" 1 \
		"h$i: a participant of app"
	assert_eq "$(metrics_value "$f" 'zooinit_hook_failures_total{service="app",event="OnPostStart"}')" 1 \
		"h$i: OnPostStart failed once"
	assert_eq "$(metrics_value "$f" 'zooinit_hook_failures_total{service="app",event="OnHealthCheck"}')" 0 \
		"h$i: OnHealthCheck never failed"
	svc_leaders=$((svc_leaders + $(metrics_value "$f" 'zooinit_service_leader{service="app"}')))
done
assert_eq "$leaders" 1 "one page says its member leads"
assert_eq "$svc_leaders" 1 "one page says it holds app's leader key"

# The service's process dies on h3: its supervisor starts it again.
app_pid() {
	local p
	for p in $(ns_pids 3); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ] &&
			grep -qa 100000 "/proc/$p/cmdline" && echo "$p"
	done
	return 0
}
old=$(app_pid)
[ -n "$old" ] || fail "no app process in h3"
kill -9 $old
restarted() { metrics_get 3 >"$WORK/h3.prom" &&
	[ "$(metrics_value "$WORK/h3.prom" 'zooinit_service_restarts_total{service="app"}')" = 1 ]; }
wait_for "h3's page counts a restart of app" 10 restarted ||
	fail "h3: zooinit_service_restarts_total{service=\"app\"} is not 1"

# And etcd on h2: its supervisor's restart is counted.
old=$(etcd_pids 2)
[ -n "$old" ] || fail "no etcd in h2"
kill -9 $old
etcd_restarted() { metrics_get 2 >"$WORK/h2.prom" &&
	[ "$(metrics_value "$WORK/h2.prom" zooinit_etcd_restarts_total)" = 1 ] &&
	[ "$(metrics_value "$WORK/h2.prom" zooinit_cluster_healthy)" = 1 ]; }
wait_for "h2's page counts a restart of etcd, healthy again" 20 etcd_restarted ||
	fail "h2: zooinit_etcd_restarts_total is not 1 with a healthy cluster"

# A request that never ends: the server's timeout answers 408 and
# closes (HTTPD_TIMEOUT_MS, 5 s). Runs while prometheus starts.
slow() {
	local t0=$SECONDS
	in_host 2 timeout 12 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1
		printf "GET /metr" >&3; cat <&3' _ "$(host_ip 1)" "$METRICS_PORT" \
		>"$WORK/slow.out" 2>&1
	echo "$((SECONDS - t0))" >"$WORK/slow.secs"
}
slow &
slow_pid=$!

prom_start 1 "$(host_ip 1):$METRICS_PORT" "$(host_ip 2):$METRICS_PORT" \
	"$(host_ip 3):$METRICS_PORT"
t0=$SECONDS
prom_is() { # QUERY WANT
	local v
	v=$(prom_query 1 "$1") || {
		echo "no answer to $1"
		return 1
	}
	echo "$1 = $v"
	[ "$v" = "$2" ]
}
wait_for "prometheus scrapes the three agents" 40 \
	prom_is 'count(up{job="zooinit"} == 1)' 3 ||
	fail "prometheus did not scrape 3 agents (see prom/prometheus.log)"
say "prometheus: 3 targets up $((SECONDS - t0)) s after its start"
wait_for "prometheus: member count 3" 10 prom_is 'max(zooinit_cluster_members)' 3 ||
	fail "prometheus does not see 3 members"
wait_for "prometheus: one leader" 10 prom_is 'sum(zooinit_member_is_leader)' 1 ||
	fail "prometheus does not see one leader"
assert_eq "$(prom_query 1 'count(zooinit_cluster_formation_info{source="dns"})')" 3 \
	"prometheus: three agents formed from DNS"

wait "$slow_pid"
assert_contains "$WORK/slow.out" "HTTP/1.1 408 Request Timeout"
secs=$(cat "$WORK/slow.secs")
[ "$secs" -ge 4 ] && [ "$secs" -le 8 ] || fail "the 408 came after $secs s (want about 5)"
ok "a request that never ends is cut after $secs s"

# An oversized head: 431, and the agent serves on.
pad=$(head -c 16000 /dev/zero | tr '\0' a)
code=$(in_host 2 timeout 10 curl -s -o /dev/null -w '%{http_code}' \
	--max-time 5 -H "X-Pad: $pad" "http://$(host_ip 1):$METRICS_PORT/metrics")
assert_eq "$code" 431 "a 16 kB header gets 431"
status_of() { # I ARGS...: the status of a request to host I's page from host 2
	local i=$1
	shift
	in_host 2 timeout 10 curl -s -o /dev/null -w '%{http_code}' \
		--max-time 5 "$@" "http://$(host_ip "$i"):$METRICS_PORT${P_PATH:-/metrics}"
}
assert_eq "$(status_of 1 -X POST)" 405 "POST gets 405"
assert_eq "$(P_PATH=/ status_of 1)" 404 "/ gets 404"
assert_eq "$(status_of 1 -I)" 200 "HEAD gets 200"

kill "$PROM_PID" && wait "$PROM_PID" 2>/dev/null

# More connections than the limit (16): the next one gets 503; once the
# idle ones time out, the page is served again.
# The 17th is asked once all 16 are connected (each leaves a mark), within
# the 5 s the agent gives an idle connection.
in_host 2 bash -c 'for n in $(seq 16); do
	( exec 3<>"/dev/tcp/$1/$2" && : >"$3/idle.$n"; timeout 8 cat <&3 >/dev/null ) &
	done; wait' _ "$(host_ip 1)" "$METRICS_PORT" "$WORK" &
idle_pid=$!
connected() { [ "$(find "$WORK" -maxdepth 1 -name 'idle.*' | wc -l)" = 16 ]; }
wait_for "16 idle connections" 10 connected || fail "16 connections were not made"
busy() { [ "$(status_of 1)" = 503 ]; }
wait_for "a 17th connection gets 503" 4 busy || fail "no 503 beyond 16 connections"
wait "$idle_pid"
metrics_get 1 >"$WORK/h1.after.prom" || fail "h1 stopped serving its page"
assert_eq "$(metrics_value "$WORK/h1.after.prom" zooinit_cluster_members)" 3 \
	"h1 serves its page after the hostile requests"
agent_alive 1 || fail "h1's agent exited"
ok "h1's agent runs on"
