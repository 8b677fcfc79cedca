#!/bin/bash
# SIGTERM while hooks are still running: a one-member bootstrap with a
# custom service whose OnHealthCheck and OnStop hooks hang. The agent stops
# the service (OnStop killed at hook_timeout), then etcd, frees the
# services and reaps the hooks it cancelled; it exits 0 within the bounds
# and leaves no process behind. zooinit once freed its services and then
# handed such an unclaimed exit to them (a use after free that the
# ASan/UBSan run of this test catches: it would abort, not exit 0).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

net_up 1
zone_std 1
cat >"$WORK/hook.sh" <<'SH'
#!/bin/sh
echo "$ZOOINIT_CLUSTER_EVENT" >>"$1"
case $ZOOINIT_CLUSTER_EVENT in
OnStart) exec sleep 100000 ;;
OnHealthCheck | OnStop) exec sleep 1000 ;;
esac
exit 0
SH
chmod +x "$WORK/hook.sh"
mkdir -p "$WORK/h1"
ev=$WORK/h1/events
cat >"$WORK/h1/zooinit.conf" <<CONF
services = ("app");
service = {
  app = {
    backend = "custom";
    size = 1;
    health_interval = 1;
    hook_timeout = 3;
    data_dir = "$WORK/h1/app";
    hooks = {
      OnStart = ("$WORK/hook.sh", "$ev");
      OnHealthCheck = ("$WORK/hook.sh", "$ev");
      OnStop = ("$WORK/hook.sh", "$ev");
    };
  };
};
CONF
run_agent 1 -f "$WORK/h1/zooinit.conf" --size 1 --stop-timeout 5
wait_for "a one-member cluster" 90 cluster_healthy 1 ||
	fail "the cluster did not form"
wait_for "OnHealthCheck runs" 60 grep -q '^OnHealthCheck' "$ev" ||
	fail "no OnHealthCheck ran"

agent_signal 1 TERM
agent_wait 1 60 || fail "the agent still runs 60 s after SIGTERM"
assert_eq "$AGENT_RC" 0 "the agent exits 0 after SIGTERM"
assert_contains "$ev" OnStop
assert_not_contains "$WORK/h1/agent.log" "AddressSanitizer"
assert_not_contains "$WORK/h1/agent.log" "runtime error"
left=$(ns_pids 1 | while read -r p; do
	case $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) in
	*sleep*) echo "$p" ;;
	esac
done)
[ -z "$left" ] || fail "hooks left behind: $left"
ok "no hook outlived the agent"
