#!/bin/bash
# The consul backend from the registry, and health-driven restarts. No
# Consul binary exists on these machines (Debian has no package), so a
# stand-in script records the argv zooinit gives it and stays up: h1..h3
# run it as servers (-server -bootstrap-expect 3, -retry-join the other
# two), h4 (zooinit cluster, beyond size) as a client agent. The flags are
# checked against Consul's documentation in tests/unit/test_backend_render.c.
# Then OnHealthCheck fails on h2: after health_failures checks in a row
# zooinit restarts the service process, which comes back with the same
# arguments.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_zooinit

net_up 4
zone_std 3

cat >"$WORK/fake-consul" <<'EOF'
#!/bin/sh
# Stands in for consul: writes its argv, one per line, then waits.
printf '%s\n' "$@" >"$ZOOINIT_TEST_OUT"
exec sleep 100000
EOF
cat >"$WORK/check.sh" <<'EOF'
#!/bin/sh
# Unhealthy while the file named by $1 exists.
[ ! -e "$1" ]
EOF
chmod +x "$WORK/fake-consul" "$WORK/check.sh"

for i in 1 2 3 4; do
	mkdir -p "$WORK/h$i"
	cat >"$WORK/h$i/zooinit.conf" <<EOF
services = ("reg");
service = {
  reg = {
    backend = "consul";
    size = 3;
    bin = "$WORK/fake-consul";
    data_dir = "$WORK/h$i/consul";
    datacenter = "zl";
    health_interval = 1;
    health_failures = 3;
    hooks = { OnHealthCheck = ("$WORK/check.sh", "$WORK/h$i/unhealthy"); };
  };
};
EOF
done
# The stand-in finds its output file through the environment, which
# zooinit passes on to the service.
for i in 1 2 3; do
	ZOOINIT_TEST_OUT=$WORK/h$i/argv run_agent "$i" -f "$WORK/h$i/zooinit.conf" --size 3
done
wait_for "3 voting members and one leader" 90 cluster_healthy 3 ||
	fail "the etcd cluster did not form"
for i in 1 2 3; do
	wait_for "h$i: consul started" 60 test -s "$WORK/h$i/argv" ||
		fail "h$i: the consul backend did not start"
done

args() { tr '\n' ' ' <"$WORK/h$1/argv"; }
for i in 1 2 3; do
	a=$(args "$i")
	say "h$i: consul $a"
	id=$(ectl 1 get "/zooinit/services/reg/ids/$(host_ip "$i")" --print-value-only)
	case $a in
	"agent -server -bootstrap-expect 3 -bind $(host_ip "$i") -advertise $(host_ip "$i") -client $(host_ip "$i") -data-dir $WORK/h$i/consul -datacenter zl -node n$id "*) ;;
	*) fail "h$i: unexpected arguments: $a" ;;
	esac
	for j in 1 2 3; do
		if [ "$j" = "$i" ]; then
			grep -qx "$(host_ip "$j")" <(sed -n '/^-retry-join$/{n;p}' "$WORK/h$i/argv") &&
				fail "h$i joins itself"
		else
			grep -qx "$(host_ip "$j")" <(sed -n '/^-retry-join$/{n;p}' "$WORK/h$i/argv") ||
				fail "h$i does not -retry-join h$j"
		fi
	done
done
ok "three servers expecting 3, each joining the other two"

eps="http://$(host_ip 1):2379,http://$(host_ip 2):2379,http://$(host_ip 3):2379"
ip netns exec "$(host_ns 4)" env ZOOINIT_TEST_OUT="$WORK/h4/argv" "$ZOOINIT" cluster \
	-f "$WORK/h4/zooinit.conf" --endpoints "$eps" reg >"$WORK/h4/agent.log" 2>&1 </dev/null &
AGENT_PID[4]=$!
wait_for "h4: consul started" 60 test -s "$WORK/h4/argv" || fail "h4 did not start consul"
a=$(args 4)
say "h4: consul $a"
case $a in
"agent -bind $(host_ip 4) "*"-node n4 "*) ok "h4 (standby, id 4) runs a client agent" ;;
*) fail "h4: unexpected arguments: $a" ;;
esac
[ "$(sed -n '/^-retry-join$/{n;p}' "$WORK/h4/argv" | sort | tr '\n' ' ')" = \
	"$(host_ip 1) $(host_ip 2) $(host_ip 3) " ] || fail "h4 does not join the three servers"

# Unhealthy on h2: restarted after 3 failed checks, with the same argv.
consul_pid() { # I
	local p
	for p in $(ns_pids "$1"); do
		grep -q "^sleep" "/proc/$p/cmdline" 2>/dev/null && echo "$p"
	done
	return 0
}
old=$(consul_pid 2)
[ -n "$old" ] || fail "no consul stand-in in h2"
before=$(args 2)
rm -f "$WORK/h2/argv"
touch "$WORK/h2/unhealthy"
restarted() { local p; p=$(consul_pid 2); [ -n "$p" ] && [ "$p" != "$old" ]; }
wait_for "h2's consul restarted after failed health checks" 30 restarted ||
	fail "zooinit did not restart the unhealthy service"
rm -f "$WORK/h2/unhealthy"
assert_contains "$WORK/h2/agent.log" "unhealthy 3 times in a row: restarting it"
wait_for "h2's consul wrote its argv again" 20 test -s "$WORK/h2/argv" || fail "no argv"
assert_eq "$(args 2)" "$before" "the same arguments after the restart"
wait_for "h2 healthy again" 20 grep -q "service reg: healthy again" "$WORK/h2/agent.log" ||
	fail "h2 did not report healthy again"
