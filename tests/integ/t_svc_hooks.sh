#!/bin/bash
# A custom service driven only by hooks on three hosts that bootstrap etcd:
# the hooks run in the documented order with the documented environment,
# the member set is sealed with ids 1..3, the leader key is live (stopping
# the leader's agent fires OnLeaderChange on the others), a restarted node
# keeps its id and skips the quorum wait; then `zooinit cluster` with a
# hook that hangs (killed at hook_timeout, exit 100) and an OnPostStart
# that never passes (OnStop runs, the OnStart process is stopped, exit 111).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

net_up 3
zone_std 3

# One recording hook for every event: a line per run in the host's file.
cat >"$WORK/hook.sh" <<'EOF'
#!/bin/sh
out=$1
shift
# Like a real readiness check: OnPostStart passes once the service (the
# OnStart process, which writes its line when it runs) is up.
if [ "$ZOOINIT_CLUSTER_EVENT" = OnPostStart ] && ! grep -q '^OnStart ' "$out"; then
	exit 1
fi
printf '%s id=%s master=%s local=%s ips=%s quorum=%s qurorum=%s svc=%s backend=%s eps=%s\n' \
	"$ZOOINIT_CLUSTER_EVENT" "$ZOOINIT_NODE_ID" "$ZOOINIT_MASTER_IP" \
	"$ZOOINIT_LOCAL_IP" "$ZOOINIT_SERVER_IP_LIST" "$ZOOINIT_QUORUM" \
	"$ZOOINIT_QURORUM" "$ZOOINIT_CLUSTER_SERVICE" \
	"$ZOOINIT_CLUSTER_BACKEND" "$ZOOINIT_ETCD_ENDPOINTS" >>"$out"
[ "$ZOOINIT_CLUSTER_EVENT" = OnStart ] && exec sleep 100000
exit 0
EOF
chmod +x "$WORK/hook.sh"

for i in 1 2 3; do
	f=$WORK/h$i/events
	mkdir -p "$WORK/h$i"
	{
		printf 'services = ("app");\nservice = {\n  app = {\n'
		printf '    backend = "custom";\n    size = 3;\n'
		printf '    health_interval = 1;\n    hook_timeout = 10;\n'
		printf '    data_dir = "%s";\n    hooks = {\n' "$WORK/h$i/app"
		for ev in OnPreRegist OnPostRegist OnReachQurorumNum OnPreStart \
			OnStart OnPostStart OnClusterBooted OnHealthCheck OnStop \
			OnLeaderChange; do
			printf '      %s = ("%s", "%s");\n' "$ev" "$WORK/hook.sh" "$f"
		done
		printf '    };\n  };\n};\n'
	} >"$WORK/h$i/zooinit.conf"
	run_agent "$i" -f "$WORK/h$i/zooinit.conf" --size 3
done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the cluster did not form"

line_has() { # LINE SUBSTRING
	case $1 in *"$2"*) ;; *) fail "'$1' lacks '$2'" ;; esac
}
booted() { # I: the host's hooks reached OnClusterBooted
	grep -q '^OnClusterBooted ' "$WORK/h$1/events" 2>/dev/null
}
for i in 1 2 3; do
	wait_for "h$i: OnClusterBooted" 60 booted "$i" ||
		fail "h$i never ran OnClusterBooted"
done

# The order of the first run of each event, OnHealthCheck after boot.
order() { # I
	awk '!seen[$1]++ { print $1 }' "$WORK/h$1/events" | tr '\n' ' '
}
want="OnPreRegist OnPostRegist OnReachQurorumNum OnPreStart OnStart OnPostStart OnClusterBooted "
for i in 1 2 3; do
	wait_for "h$i: OnHealthCheck runs" 20 grep -q '^OnHealthCheck ' "$WORK/h$i/events" ||
		fail "h$i: no OnHealthCheck"
	got=$(order "$i")
	case $got in
	"$want"*) ok "h$i: hooks in order: $got" ;;
	*) fail "h$i: hooks ran in the order: $got (want $want...)" ;;
	esac
done

# The environment: ids 1..3 once each, the three addresses, quorum 3 under
# both spellings, this node's address and etcd endpoint, the leader's IP.
ids=""
for i in 1 2 3; do
	line=$(grep -m1 '^OnPreStart ' "$WORK/h$i/events")
	say "h$i: $line"
	id=$(sed -n 's/.* id=\([0-9]*\) .*/\1/p' <<<"$line")
	ids="$ids $id"
	line_has "$line" "local=$(host_ip "$i") "
	ips=$(sed -n 's/.* ips=\([^ ]*\) .*/\1/p' <<<"$line")
	assert_eq "$(tr ',' '\n' <<<"$ips" | sort | tr '\n' ' ')" \
		"$(host_ip 1) $(host_ip 2) $(host_ip 3) " "h$i: the three addresses (in id order)"
	line_has "$line" "quorum=3 qurorum=3 svc=app backend=custom"
	line_has "$line" "eps=http://$(host_ip "$i"):2379,"
done
assert_eq "$(tr ' ' '\n' <<<"$ids" | sort -n | tr '\n' ' ')" " 1 2 3 " "ids 1..3, once each"

leader=$(ectl 1 get /zooinit/services/app/leader --print-value-only)
case $leader in "$NET".[123]) ok "the leader key names $leader" ;;
*) fail "leader key: '$leader'" ;; esac
line_has "$(grep -m1 '^OnPostStart ' "$WORK/h1/events")" "master=$leader "
sealed=$(ectl 1 get /zooinit/services/app/sealed --print-value-only)
say "sealed: $sealed"
for i in 1 2 3; do
	line_has "$sealed" "\"ip\":\"$(host_ip "$i")\""
done

# Stop the leader's agent: OnStop there, OnLeaderChange elsewhere.
L=${leader##*.}
old_id=$(sed -n 's/.* id=\([0-9]*\) .*/\1/p' <(grep -m1 '^OnPreStart ' "$WORK/h$L/events"))
agent_signal "$L" TERM
agent_wait "$L" 30 || fail "h$L's agent did not stop"
assert_eq "$AGENT_RC" 0 "h$L's agent exited 0"
assert_contains "$WORK/h$L/events" "OnStop "
assert_contains "$WORK/h$L/agent.log" "service app: stopping"
other=$(( L % 3 + 1 ))
new_leader() {
	local v
	v=$(ectl "$other" get /zooinit/services/app/leader --print-value-only) || return 1
	[ -n "$v" ] && [ "$v" != "$leader" ] || return 1
	grep -q "^OnLeaderChange .* master=$v " "$WORK/h$other/events"
}
wait_for "a new leader and OnLeaderChange on h$other" 30 new_leader ||
	fail "no OnLeaderChange after the leader stopped"
ok "OnLeaderChange: $(grep '^OnLeaderChange ' "$WORK/h$other/events" | tail -n 1 | cut -d' ' -f1-3)"

# Restart it: the same id, no quorum wait.
: >"$WORK/h$L/events"
run_agent "$L" -f "$WORK/h$L/zooinit.conf" --size 3
wait_for "h$L: OnPostStart after the restart" 90 grep -q '^OnPostStart ' "$WORK/h$L/events" ||
	fail "h$L did not start the service again"
assert_contains "$WORK/h$L/agent.log" "(rejoining: no wait)"
line_has "$(grep -m1 '^OnPreStart ' "$WORK/h$L/events")" " id=$old_id "
ok "h$L rejoined with id $old_id"

# zooinit cluster against the running etcd, a hook that hangs.
cat >"$WORK/hang.sh" <<'EOF'
#!/bin/sh
sleep 1000
EOF
cat >"$WORK/fail.sh" <<'EOF'
#!/bin/sh
echo "not ready" >&2
exit 1
EOF
cat >"$WORK/long.sh" <<'EOF'
#!/bin/sh
exec sleep 200000
EOF
chmod +x "$WORK/hang.sh" "$WORK/fail.sh" "$WORK/long.sh"
cat >"$WORK/one.conf" <<EOF
service = {
  hang = {
    size = 1;
    hook_timeout = 2;
    data_dir = "$WORK/h1/hang";
    hooks = { OnPreStart = "$WORK/hang.sh"; };
  };
  nostart = {
    size = 1;
    start_timeout = 4;
    data_dir = "$WORK/h1/nostart";
    hooks = {
      OnStart = "$WORK/long.sh";
      OnPostStart = "$WORK/fail.sh";
      OnStop = ("$WORK/hook.sh", "$WORK/h1/nostart.events");
    };
  };
};
EOF
rc=0
timeout -k 5 60 ip netns exec "$(host_ns 1)" "$ZOOINIT" cluster -f "$WORK/one.conf" \
	--endpoints "http://$(host_ip 1):2379" hang >"$WORK/h1/hang.log" 2>&1 || rc=$?
assert_eq "$rc" 100 "a hanging OnPreStart: exit 100"
assert_contains "$WORK/h1/hang.log" "OnPreStart timed out"
pgrep -f "$WORK/hang.sh" >/dev/null && fail "the hung hook still runs"
ok "the hung hook was killed at hook_timeout"

rc=0
timeout -k 5 60 ip netns exec "$(host_ns 1)" "$ZOOINIT" cluster -f "$WORK/one.conf" \
	--endpoints "http://$(host_ip 1):2379" nostart >"$WORK/h1/nostart.log" 2>&1 || rc=$?
assert_eq "$rc" 111 "an OnPostStart that never passes: exit 111"
assert_contains "$WORK/h1/nostart.log" "not started within start_timeout"
assert_contains "$WORK/h1/nostart.log" "not ready"
assert_contains "$WORK/h1/nostart.events" "OnStop "
pgrep -f "sleep 200000" >/dev/null && fail "the OnStart process of nostart still runs"
ok "OnPostStart failure: OnStop ran, the service was stopped, exit 111"
