#!/bin/bash
# shellcheck disable=SC2317 # functions called through wait_for look unreachable
# Docker test of the ZooKeeper example: builds the images
# (docker/build-zk.sh), starts docker/compose-zk.yml (one dnsmasq, three
# identical agents running `zooinit bootstrap -f /etc/zooinit/zooinit.conf`
# with service zk, backend zookeeper, size 3) as project zktest<pid>, and
# checks from this host, over the project's own bridge network:
#
#   1. each agent logs `service zk: started (participant N)`, and the three
#      ZooKeepers answer `srvr` with one leader and two followers (bounded:
#      ZI_ZK_TIMEOUT, 180 s);
#   2. a znode created through zooinit1's ZooKeeper is read back, with its
#      value, through zooinit3's (ZooKeeperMain run on this host);
#   3. docker stop of each agent (SIGTERM to zooinit as PID 1, which stops
#      ZooKeeper and etcd) exits 0.
#
# The project is always removed at the end (down -v, then anything left with
# its label), also on failure, Ctrl-C or TERM; on failure the last 30 log
# lines of every container are printed first.
#
# Output ends with "docker-zk: 1 passed, 0 failed" (exit 0) or
# "docker-zk: 0 passed, 1 failed" (exit 1). Without an answering Docker
# engine, or without Java or Debian's zookeeper on this host, it says
# "docker-zk: SKIPPED — <why>" and "docker-zk: 0 passed, 0 failed,
# 1 skipped" and exits 0.
#
# usage: tests/docker/zk.sh
# env:   ZI_NO_BUILD=1   use the existing zooinit-zk:local / zooinit-dns:local
#        KEEP=1          leave the project running (prints how to remove it)
#        ZI_ZK_TIMEOUT   seconds for step 1 (180)
#        ZK_SUBNET, ZK_GATEWAY, ZK_IP_RANGE, ZK_DNS_IP   passed on to docker/compose-zk.yml
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
compose_file=$top/docker/compose-zk.yml
proj=zktest$$
agents=(zooinit1 zooinit2 zooinit3)
ZK_TIMEOUT=${ZI_ZK_TIMEOUT:-180}
ZK_CP=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar
t_start=$(date +%s)
failed=0
up=0
teardown_done=0

TAG=docker-zk
DOWN_GRACE=30
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

[ -f /usr/share/java/zookeeper.jar ] ||
	skip "/usr/share/java/zookeeper.jar is missing (apt-get install zookeeper)"
[ -f /usr/share/java/slf4j-simple.jar ] ||
	skip "/usr/share/java/slf4j-simple.jar is missing (apt-get install libslf4j-java)"
command -v java >/dev/null 2>&1 ||
	skip "no java in PATH (apt-get install openjdk-17-jre-headless)"

# zk_mode IP: ZooKeeper's Mode from `srvr` on IP:2181 (leader, follower,
# ...), or nothing. Asked from this host with bash's /dev/tcp.
zk_mode() {
	timeout 4 bash -c 'exec 3<>"/dev/tcp/$1/2181" && printf srvr >&3 && cat <&3' _ "$1" 2>/dev/null |
		awk '/^Mode:/ {print $2}'
}

# zk_cli IP ARGS...: one command of ZooKeeper's own client, on this host.
zk_cli() {
	local ip=$1
	shift
	timeout 30 java -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$ZK_CP" \
		org.apache.zookeeper.ZooKeeperMain -server "$ip:2181" "$@" 2>&1
}

# --- 0. images ---------------------------------------------------------------
if [ "${ZI_NO_BUILD:-}" = 1 ]; then
	for img in zooinit-zk:local zooinit-dns:local; do
		docker image inspect "$img" >/dev/null 2>&1 || fail "ZI_NO_BUILD=1 but image $img does not exist"
	done
else
	"$top/docker/build-zk.sh" || fail "docker/build-zk.sh failed"
fi

# --- 1. ZooKeeper forms --------------------------------------------------------
say "starting project $proj (${compose[*]})"
up=1
out=$(dc up -d 2>&1) || { echo "$out"; fail "${compose[*]} up failed"; }
t_up=$(date +%s)
declare -A C IP
for a in "${agents[@]}"; do
	C[$a]=$(cid "$a")
	[ -n "${C[$a]}" ] || fail "no container for service $a"
	IP[$a]=$(cip "${C[$a]}")
	[ -n "${IP[$a]}" ] || fail "$a has no address"
done
say "agents: $(for a in "${agents[@]}"; do printf '%s=%s ' "$a" "${IP[$a]}"; done)dns=$(cip "$(cid dns)")"

for c in $(proj_containers); do
	[ -z "$(docker port "$c" 2>/dev/null)" ] || fail "$(cname "$c") publishes ports: $(docker port "$c")"
done

zk_formed() {
	local a m leaders=0 followers=0 modes=""
	for a in "${agents[@]}"; do
		docker logs "${C[$a]}" 2>&1 | grep -q 'service zk: started (participant [1-3])' ||
			{ last_why="$a has not logged 'service zk: started' yet"; return 1; }
	done
	for a in "${agents[@]}"; do
		m=$(zk_mode "${IP[$a]}")
		modes="$modes $a=${m:-none}"
		case $m in
		leader) leaders=$((leaders + 1)) ;;
		follower) followers=$((followers + 1)) ;;
		esac
	done
	last_why="srvr modes:$modes"
	[ "$leaders" = 1 ] && [ "$followers" = 2 ]
}
wait_for "ZooKeeper formed: 1 leader, 2 followers" "$ZK_TIMEOUT" zk_formed ||
	fail "no 3-node ZooKeeper with one leader within ${ZK_TIMEOUT}s"
t_formed=$(($(date +%s) - t_up))
say "$last_why"

# --- 2. a znode written through one, read through another ----------------------
znode=/zitest-$$
value=v$$-$(date +%s)
out=$(zk_cli "${IP[zooinit1]}" create "$znode" "$value")
grep -q "^Created $znode\$" <<<"$out" ||
	fail "create $znode via zooinit1 (${IP[zooinit1]}) failed: $(tail -n 5 <<<"$out")"
say "created $znode=$value through zooinit1"
read_back() {
	local got
	got=$(zk_cli "${IP[zooinit3]}" get "$znode")
	grep -qx "$value" <<<"$got" && return 0
	last_why="get $znode via zooinit3: $(tail -n 3 <<<"$got" | tr '\n' ' ')"
	return 1
}
wait_for "$znode read back through zooinit3" 30 read_back ||
	fail "$znode not readable through zooinit3"

# --- 3. docker stop: clean -----------------------------------------------------
stops=""
for a in "${agents[@]}"; do
	t0=$(date +%s%N)
	docker stop -t 30 "${C[$a]}" >/dev/null || fail "docker stop $a failed"
	ms=$((($(date +%s%N) - t0) / 1000000))
	rc=$(docker inspect -f '{{.State.ExitCode}}' "${C[$a]}")
	stops="$stops $a=${ms}ms"
	[ "$rc" = 0 ] || fail "$a exited $rc after docker stop (want 0)"
done
say "docker stop, exit 0 each:$stops"

say "timings: ZooKeeper formed ${t_formed}s after up"
finish 0
