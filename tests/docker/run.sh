#!/bin/bash
# shellcheck disable=SC2317 # functions called through wait_for look unreachable
# Docker test of zooinit: builds the images (docker/build.sh), starts the rig
# of docker/compose.yml (one dnsmasq, three identical agents on a private,
# internal bridge network) as project zitest<pid>, and checks:
#
#   1. a cluster forms: 3 started members, exactly one leader, every agent
#      container's healthcheck healthy (bounded: ZI_FORM_TIMEOUT, 120 s);
#   2. a key written; the leader's container is killed (docker kill,
#      SIGKILL): the other two elect/keep one leader, the key is still
#      readable and a new key is writable (bounded, 60 s);
#   3. the killed container is started again (docker start): it keeps its
#      address, rejoins (3 members, one leader, healthy) and both keys are
#      readable through its own member (bounded, 90 s);
#   4. docker stop of each agent (SIGTERM to zooinit as PID 1) exits 0 and
#      takes less than ZI_STOP_LIMIT seconds (default 9: Docker sends
#      SIGKILL at 10 s). Most take 0.2-0.4 s; an etcd that is the leader
#      when it is told to stop first hands leadership to a peer it still
#      believes active, and when that peer has just gone etcd waits for
#      the transfer up to its request timeout (7 s with etcd's default
#      timings): the last member stopped took 4.0 s once.
#
# The project is always removed at the end (docker compose down -v, then
# any container, volume or network left with its label), also on failure,
# Ctrl-C or TERM. On failure the last 30 log lines of every container are
# printed first.
#
# Output ends with "docker: 1 passed, 0 failed" (exit 0) or
# "docker: 0 passed, 1 failed" (exit 1). Without an answering Docker
# engine: "docker: SKIPPED — no Docker engine answers" and
# "docker: 0 passed, 0 failed, 1 skipped" (exit 0).
#
# usage: tests/docker/run.sh
# env:   ZI_NO_BUILD=1   use the existing zooinit:local / zooinit-dns:local
#        KEEP=1          leave the project running (prints how to remove it)
#        ZL_SUBNET, ZL_GATEWAY, ZL_IP_RANGE, ZL_DNS_IP   passed on to docker/compose.yml
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
compose_file=$top/docker/compose.yml
proj=zitest$$
agents=(zooinit1 zooinit2 zooinit3)
FORM_TIMEOUT=${ZI_FORM_TIMEOUT:-120}
STOP_LIMIT=${ZI_STOP_LIMIT:-9}
t_start=$(date +%s)
failed=0
up=0
teardown_done=0

TAG=docker
DOWN_GRACE=20
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

# ectl CONTAINER ARGS...: etcdctl inside an agent container, against its own
# member (ETCDCTL_ENDPOINTS=http://self:2379 in compose.yml).
ectl() {
	local c=$1
	shift
	timeout 20 docker exec "$c" /usr/bin/etcdctl --command-timeout=5s "$@"
}

# cluster_ok CONTAINER: seen from CONTAINER's member, 3 started members, 3
# endpoints answering, exactly one of them the leader, all agents healthy.
last_why=""
cluster_ok() {
	local c=$1 members status n leaders a h
	members=$(ectl "$c" member list -w simple 2>&1) || { last_why="member list: $members"; return 1; }
	n=$(grep -c ', started, ' <<<"$members")
	[ "$n" = 3 ] || { last_why="$n started members: $members"; return 1; }
	status=$(ectl "$c" endpoint status --cluster -w simple 2>&1) || { last_why="endpoint status: $status"; return 1; }
	n=$(grep -c '^http' <<<"$status")
	leaders=$(awk -F', ' '$5 == "true"' <<<"$status" | wc -l)
	{ [ "$n" = 3 ] && [ "$leaders" = 1 ]; } || { last_why="$n endpoints, $leaders leaders: $status"; return 1; }
	for a in "${agents[@]}"; do
		h=$(chealth "$(cid "$a")")
		[ "$h" = healthy ] || { last_why="$a's healthcheck: $h"; return 1; }
	done
	last_why=""
}

# survivors_ok C1 C2: the two members answer, exactly one is the leader.
survivors_ok() {
	local c s leaders=0 st
	for c in "$@"; do
		s=$(ectl "$c" endpoint status -w simple 2>&1) || { last_why="$(cname "$c"): $s"; return 1; }
		[ "$(awk -F', ' '{print $5}' <<<"$s")" = true ] && leaders=$((leaders + 1))
		st="${st:-}$s; "
	done
	[ "$leaders" = 1 ] || { last_why="$leaders leaders among the survivors: $st"; return 1; }
}

key_is() { # CONTAINER KEY VALUE: a linearizable read through CONTAINER's member
	local got
	got=$(ectl "$1" get --print-value-only "$2" 2>&1) || { last_why="get $2 via $(cname "$1"): $got"; return 1; }
	[ "$got" = "$3" ] || { last_why="get $2 via $(cname "$1") gave '$got', want '$3'"; return 1; }
}

put_key() { # CONTAINER KEY VALUE
	local out
	if ! out=$(ectl "$1" put "$2" "$3" 2>&1) || [ "$out" != OK ]; then
		last_why="put $2 via $(cname "$1"): $out"
		return 1
	fi
}

is_leader() { # CONTAINER
	[ "$(ectl "$1" endpoint status -w simple 2>/dev/null | awk -F', ' '{print $5}')" = true ]
}

# --- 0. images ---------------------------------------------------------------
if [ "${ZI_NO_BUILD:-}" = 1 ]; then
	for img in zooinit:local zooinit-dns:local; do
		docker image inspect "$img" >/dev/null 2>&1 || fail "ZI_NO_BUILD=1 but image $img does not exist"
	done
else
	"$top/docker/build.sh" || fail "docker/build.sh failed"
fi

# --- 1. the cluster forms ----------------------------------------------------
say "starting project $proj (${compose[*]})"
up=1
out=$(dc up -d 2>&1) || { echo "$out"; fail "${compose[*]} up failed"; }
t_up=$(date +%s)
declare -A C IP
for a in "${agents[@]}"; do
	C[$a]=$(cid "$a")
	[ -n "${C[$a]}" ] || fail "no container for service $a"
	IP[$a]=$(cip "${C[$a]}")
done
dns=$(cid dns)
say "agents: $(for a in "${agents[@]}"; do printf '%s=%s ' "$a" "${IP[$a]}"; done)dns=$(cip "$dns")"

# Nothing may be published on the host.
for c in $(proj_containers); do
	[ -z "$(docker port "$c" 2>/dev/null)" ] || fail "$(cname "$c") publishes ports: $(docker port "$c")"
done

wait_for "cluster formed: 3 members, 1 leader, 3 healthy agents" "$FORM_TIMEOUT" \
	cluster_ok "${C[zooinit1]}" || fail "no healthy 3-member cluster within ${FORM_TIMEOUT}s"
t_formed=$(($(date +%s) - t_up))
ectl "${C[zooinit1]}" member list -w table | sed 's/^/    /'

# --- 2. kill the leader ------------------------------------------------------
put_key "${C[zooinit1]}" /zitest/k1 v1 || fail "$last_why"
victim=""
for a in "${agents[@]}"; do
	if is_leader "${C[$a]}"; then victim=$a; fi
done
[ -n "$victim" ] || fail "no agent reports itself as leader"
survivors=()
for a in "${agents[@]}"; do [ "$a" != "$victim" ] && survivors+=("$a"); done
s1=${C[${survivors[0]}]} s2=${C[${survivors[1]}]}
say "wrote /zitest/k1; killing the leader $victim (docker kill, SIGKILL)"
docker kill "${C[$victim]}" >/dev/null || fail "docker kill $victim failed"
t_kill=$(date +%s)
killed() {
	last_why=$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "${C[$victim]}")
	[ "$last_why" = "exited 137" ]
}
wait_for "$victim exited 137 (SIGKILL)" 10 killed || fail "$victim did not exit 137 after docker kill"

both_serve() { survivors_ok "$s1" "$s2" && key_is "$s2" /zitest/k1 v1 && put_key "$s1" /zitest/k2 v2; }
wait_for "2 of 3 serve: one leader, k1 readable, k2 written" 60 both_serve ||
	fail "the cluster did not keep serving with $victim down"
t_serve=$(($(date +%s) - t_kill))
for a in "${survivors[@]}"; do
	h=$(chealth "${C[$a]}")
	[ "$h" = healthy ] || fail "$a's healthcheck is '$h' with one member down"
done

# --- 3. restart it: it rejoins -------------------------------------------------
docker start "${C[$victim]}" >/dev/null || fail "docker start $victim failed"
t_restart=$(date +%s)
ip=$(cip "${C[$victim]}")
[ "$ip" = "${IP[$victim]}" ] ||
	fail "$victim came back with address $ip instead of ${IP[$victim]}; its etcd member is bound to the old one"
say "started $victim again (address $ip kept)"
rejoined() { cluster_ok "${C[$victim]}" && key_is "${C[$victim]}" /zitest/k1 v1 && key_is "${C[$victim]}" /zitest/k2 v2; }
wait_for "$victim rejoined: 3 members, 1 leader, healthy, k1 and k2 read through it" 90 rejoined ||
	fail "$victim did not rejoin"
t_rejoin=$(($(date +%s) - t_restart))
docker logs "${C[$victim]}" 2>&1 | grep -q 'starting etcd as .*: existing cluster' ||
	fail "$victim did not restart its member as 'existing' from its journal"

# --- 4. docker stop: clean and quick -----------------------------------------------
stops=""
for a in "${survivors[1]}" "$victim" "${survivors[0]}"; do # the last one without quorum
	t0=$(date +%s%N)
	docker stop "${C[$a]}" >/dev/null || fail "docker stop $a failed"
	ms=$((($(date +%s%N) - t0) / 1000000))
	rc=$(docker inspect -f '{{.State.ExitCode}}' "${C[$a]}")
	stops="$stops $a=${ms}ms"
	[ "$rc" = 0 ] || fail "$a exited $rc after docker stop (want 0)"
	[ "$ms" -lt $((STOP_LIMIT * 1000)) ] || fail "docker stop $a took ${ms} ms (limit ${STOP_LIMIT} s)"
	docker logs "${C[$a]}" 2>&1 | grep -q 'Terminated received: stopping' ||
		fail "$a's log does not show zooinit stopping etcd"
done
say "docker stop, exit 0 each:$stops"

say "timings: formed ${t_formed}s after up; 2/3 serving ${t_serve}s after kill; rejoined ${t_rejoin}s after start"
finish 0
