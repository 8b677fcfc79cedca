# shellcheck shell=bash
# tests/integ/lib.sh — helpers for zooinit's integration tests.
#
# A test sources this file, then builds a small private network and runs
# agents in it:
#
#   . "$(dirname "$0")/lib.sh"
#   need_zooinit
#   net_up 3                 # hosts h1..h3 = 10.99.0.1..3, DNS = 10.99.0.53
#   zone_std 3               # SRV + A records for h1..h3 in zl.test
#   run_agent 1 --size 3     # zooinit bootstrap ... inside host 1
#   wait_for "cluster" 90 cluster_healthy 3 || fail "no cluster"
#
# Every host is a network namespace with its own eth0 on one Linux bridge
# (the bridge lives in a helper namespace), so every host can use the same
# ports. None of the namespaces has a route beyond 10.99.0.0/24, and
# dnsmasq never forwards, so test traffic cannot leave them.
#
# On exit (normal, failure, INT or TERM) every process in the namespaces is
# killed, the namespaces are deleted and $WORK is removed (KEEP=1 keeps it).
# When the test failed, the tail of every log under $WORK is printed first.
#
# Environment: ZOOINIT (the binary, set by run.sh), ZI_PREFIX (namespace
# name prefix, set by run.sh; default zi<pid>), KEEP=1, ZI_NO_INIT=1 (only
# define the functions: no work dir, no traps; used by run.sh).
#
# Exit status of a test: 0 passed, 77 skipped, anything else failed.
#
# Functions (I = host number 1..N):
#   net_up N             hosts ${P}h1..hN (eth0 10.99.0.I/24), DNS host
#                        ${P}dns (10.99.0.53), bridge in ${P}br
#   host_ns I, host_ip I, dns_ns, in_host I CMD..., ns_pids I
#   dns_zone LINE...     (re)start dnsmasq with exactly these directives
#   zone_lines N [SVC], zone_std N [SVC]   SRV + A records for h1..hN
#   dns_query NAME TYPE  "RCODE ANSWERS" from the test DNS server (no dig)
#   run_agent I ARGS...  zooinit bootstrap in host I, in the background
#   run_plan I ARGS...   zooinit plan in host I; returns its exit status
#   agent_pid I, agent_alive I, agent_signal I SIG, agent_wait I SECS
#   etcd_pids I          etcd processes in host I
#   ectl I ARGS...       etcdctl against host I's member
#   leader_endpoints     (filter) leaders in `endpoint status -w fields`
#   cluster_members I, cluster_member_names I, cluster_leader_count [I],
#   cluster_id I, cluster_healthy [N]
#   wait_for DESC SECS CMD...   bounded poll
#   say, ok, fail, skip, assert_eq, assert_contains, assert_not_contains
#   pids_cgroup MAX      a cgroup limiting processes (ZI_CGROUP)
#   zi_teardown, zi_sweep PREFIX   (cleanup; run by the EXIT trap)

set -u

ZONE=zl.test
NET=10.99.0
DNS_IP=$NET.53
DNS_PORT=53
P=${ZI_PREFIX:-zi$$}
ZOOINIT=${ZOOINIT:-}
NHOSTS=0
DNSMASQ_PID=""
AGENT_RC=""
declare -a AGENT_PID=()
# Words put between `ip netns exec NS` and the agent binary by run_agent,
# e.g. AGENT_PREFIX=(unshare -pf --mount-proc). Reset it after use.
declare -a AGENT_PREFIX=()
ZI_CGROUP="" # set by pids_cgroup, removed by zi_teardown

# ---------------------------------------------------------------- output

say() { printf '# %s\n' "$*"; }
ok() { printf '  ok: %s\n' "$*"; }
# Stops the test as failed; the EXIT trap cleans up and prints the logs.
fail() {
	printf '  FAIL: %s\n' "$*" >&2
	exit 1
}
skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}
die() {
	printf 'lib.sh: %s\n' "$*" >&2
	exit 2
}

assert_eq() { # GOT WANT MESSAGE
	if [ "$1" = "$2" ]; then ok "$3"; else fail "$3: got '$1', want '$2'"; fi
}
assert_contains() { # FILE SUBSTRING
	[ -f "$1" ] || fail "${1#"$WORK"/} does not exist (wanted '$2' in it)"
	if grep -qF -- "$2" "$1"; then
		ok "${1#"$WORK"/} contains '$2'"
	else
		fail "${1#"$WORK"/} does not contain '$2'"
	fi
}
assert_not_contains() { # FILE SUBSTRING
	if [ -f "$1" ] && grep -qF -- "$2" "$1"; then
		fail "${1#"$WORK"/} contains '$2'"
	fi
	ok "${1#"$WORK"/} does not contain '$2'"
}

# wait_for DESCRIPTION TIMEOUT_S CMD...: runs CMD every 0.5 s until it
# succeeds (returns 0) or TIMEOUT_S seconds / 2*TIMEOUT_S+1 tries have
# passed (returns 1, printing CMD's last output). CMD may be a function; it
# must bound its own run time (the helpers here do). While waiting, a
# tracked agent that exits stops the wait at once (it is reported and its
# status left in AGENT_RC) unless WAIT_IGNORE_AGENTS=1.
wait_for() {
	local desc=$1 limit=$2 start=$SECONDS tries=0 max i out
	shift 2
	max=$((limit * 2 + 1))
	out=${WORK:-/tmp}/.wait_for.out
	while :; do
		if "$@" >"$out" 2>&1; then
			say "$desc (after $((SECONDS - start)) s)"
			return 0
		fi
		tries=$((tries + 1))
		if [ "${WAIT_IGNORE_AGENTS:-0}" != 1 ]; then
			for i in "${!AGENT_PID[@]}"; do
				[ -n "${AGENT_PID[i]}" ] || continue
				if ! kill -0 "${AGENT_PID[i]}" 2>/dev/null; then
					agent_wait "$i" 1
					printf '  agent h%s exited with status %s while waiting for: %s\n' \
						"$i" "$AGENT_RC" "$desc" >&2
					return 1
				fi
			done
		fi
		if [ $((SECONDS - start)) -ge "$limit" ] || [ "$tries" -ge "$max" ]; then
			printf '  timed out after %s s (%s tries) waiting for: %s\n' \
				"$((SECONDS - start))" "$tries" "$desc" >&2
			if [ -s "$out" ]; then
				printf '  last output of %s:\n' "$*" >&2
				tail -n 15 "$out" | sed 's/^/    /' >&2
			fi
			return 1
		fi
		sleep 0.5
	done
}

# ---------------------------------------------------------------- network

host_ns() { printf '%s\n' "${P}h$1"; }
host_ip() { printf '%s\n' "$NET.$1"; }
dns_ns() { printf '%s\n' "${P}dns"; }
br_ns() { printf '%s\n' "${P}br"; }
# Runs CMD inside host i's network namespace.
in_host() {
	local i=$1
	shift
	ip netns exec "$(host_ns "$i")" "$@"
}
# hold_port I ADDR PORT: something else listens on ADDR:PORT in host I (for
# 10 minutes at most; the sweep ends it with the namespace). python3,
# since busybox's nc cannot listen on one address.
hold_port() {
	in_host "$1" python3 -c 'import socket, sys, time
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen()
time.sleep(600)' "$2" "$3" </dev/null >/dev/null 2>&1 &
	wait_for "a listener on $2:$3 in h$1" 10 in_host "$1" \
		bash -c "exec 3<>/dev/tcp/$2/$3" || fail "could not hold $2:$3 in h$1"
}
# PIDs (host view) of every process in host i's network namespace.
ns_pids() { ip netns pids "$(host_ns "$1")" 2>/dev/null; }

_ns_add() { # NAME: a namespace with lo up and /etc/netns/NAME/resolv.conf
	ip netns add "$1" || die "ip netns add $1 failed"
	ip -n "$1" link set lo up
	# `ip netns exec` bind-mounts this over /etc/resolv.conf inside the
	# namespace only; the machine's own resolv.conf is never touched.
	mkdir -p "/etc/netns/$1"
	printf 'nameserver %s\n' "$DNS_IP" >"/etc/netns/$1/resolv.conf"
}

_port_up() { # NS IFNAME ADDR: veth NS/eth0 <-> bridge port IFNAME
	local ns=$1 port=$2 addr=$3
	_ns_add "$ns"
	ip -n "$(br_ns)" link add "$port" type veth peer name eth0 netns "$ns" ||
		die "cannot create veth $port for $ns"
	ip -n "$(br_ns)" link set "$port" master br0 up
	ip -n "$ns" addr add "$addr/24" dev eth0
	ip -n "$ns" link set eth0 up
}

_link_up() { ip -n "$1" -o link show eth0 | grep -q 'state UP'; }

# net_up N: hosts h1..hN (10.99.0.1..N on eth0) and the DNS host
# (10.99.0.53) on one bridge. Interface names are per namespace (br0, vhI,
# vdns in the bridge namespace, eth0 in the others), so they stay short
# whatever the prefix.
net_up() {
	local n=$1 i
	case $n in '' | *[!0-9]*) die "net_up: bad host count '$n'" ;; esac
	if [ "$n" -lt 1 ] || [ "$n" -gt 50 ]; then die "net_up: 1..50 hosts"; fi
	zi_sweep "$P" # leftovers of an earlier run with the same prefix
	NHOSTS=$n
	_ns_add "$(br_ns)"
	ip -n "$(br_ns)" link add br0 type bridge stp_state 0 forward_delay 0 ||
		die "cannot create a bridge (is the bridge module available?)"
	ip -n "$(br_ns)" link set br0 up
	for ((i = 1; i <= n; i++)); do
		_port_up "$(host_ns "$i")" "vh$i" "$(host_ip "$i")"
	done
	_port_up "$(dns_ns)" vdns "$DNS_IP"
	for ((i = 1; i <= n; i++)); do
		wait_for "" 10 _link_up "$(host_ns "$i")" >/dev/null ||
			die "eth0 of $(host_ns "$i") did not come up"
	done
	say "network: $n hosts $NET.1-$n, DNS $DNS_IP (namespaces ${P}*)"
}

# ---------------------------------------------------------------- DNS

# Sends one DNS query over UDP with bash's /dev/udp and prints
# "RCODE ANSWERS" of the reply. Runs wherever it is called (see dns_query).
_dns_query_here() { # NAME QTYPE_NUMBER SERVER PORT
	local name=$1 qtype=$2 server=$3 port=$4 id1 id2 fmt label reply tmp
	local -a labels bytes
	id1=$((RANDOM % 256)) id2=$((RANDOM % 256))
	fmt=$(printf '\\x%02x\\x%02x\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00' "$id1" "$id2")
	IFS=. read -ra labels <<<"$name"
	for label in "${labels[@]}"; do
		[ -n "$label" ] || continue
		fmt+=$(printf '\\x%02x' "${#label}")$label
	done
	fmt+=$(printf '\\x00\\x%02x\\x%02x\\x00\\x01' $((qtype >> 8)) $((qtype & 255)))
	tmp=$(mktemp /tmp/zi-dnsq.XXXXXX) || return 1
	# shellcheck disable=SC2059 # the format is the packet
	printf "$fmt" >"$tmp"
	# One write (cat) = one datagram; one read (dd count=1) = one reply.
	if ! exec 3<>"/dev/udp/$server/$port"; then
		rm -f "$tmp"
		return 1
	fi
	cat "$tmp" >&3
	rm -f "$tmp"
	reply=$(timeout 2 dd bs=4096 count=1 <&3 2>/dev/null | od -An -tu1 -v)
	exec 3>&-
	read -ra bytes <<<"$reply"
	[ "${#bytes[@]}" -ge 12 ] || return 1
	[ "${bytes[0]}" = "$id1" ] && [ "${bytes[1]}" = "$id2" ] || return 1
	printf '%s %s\n' $((bytes[3] & 15)) $((bytes[6] * 256 + bytes[7]))
}

# dns_query NAME TYPE (A, AAAA, SRV, SOA or a number): asks the test DNS
# server from inside the DNS namespace; prints "RCODE ANSWERS"
# (RCODE 0 = NOERROR, 3 = NXDOMAIN, 5 = REFUSED). No dig needed.
dns_query() {
	local t
	case $2 in A) t=1 ;; SOA) t=6 ;; AAAA) t=28 ;; SRV) t=33 ;; *) t=$2 ;; esac
	ip netns exec "$(dns_ns)" timeout 5 bash -c \
		"$(declare -f _dns_query_here); _dns_query_here \"\$@\"" _ \
		"$1" "$t" "$DNS_IP" "$DNS_PORT"
}

_dnsmasq_stop() {
	local n
	[ -n "$DNSMASQ_PID" ] || return 0
	kill "$DNSMASQ_PID" 2>/dev/null
	for ((n = 0; n < 50; n++)); do
		kill -0 "$DNSMASQ_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$DNSMASQ_PID" 2>/dev/null
	wait "$DNSMASQ_PID" 2>/dev/null
	DNSMASQ_PID=""
}

_dns_answers() { # NAME TYPE MIN: NOERROR with at least MIN answers
	local r
	r=$(dns_query "$1" "$2") || return 1
	echo "$1 $2 -> rcode ${r% *}, ${r#* } answers"
	[ "${r% *}" = 0 ] && [ "${r#* }" -ge "$3" ]
}

# dns_zone LINE...: (re)writes $WORK/dns/zone.conf with the given dnsmasq
# directives (srv-host=..., host-record=..., txt-record=...) and (re)starts
# dnsmasq in the DNS namespace on 10.99.0.53:53 with exactly them. dnsmasq
# reads no other configuration, no resolv.conf, no hosts file, forwards
# nothing, and answers NXDOMAIN for unknown names under zl.test. Then it
# checks by real queries that every srv-host set and host-record answers
# (DNS_VERIFY=0 skips that).
dns_zone() {
	local d=$WORK/dns line name n dnsmasq
	local -a args=()
	local -A srv_count=()
	mkdir -p "$d"
	printf '%s\n' "$@" >"$d/zone.conf"
	dnsmasq=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
	_dnsmasq_stop
	while IFS= read -r line; do
		case $line in '' | '#'*) continue ;; esac
		args+=("--$line")
		case $line in
		srv-host=*)
			name=${line#srv-host=}
			name=${name%%,*}
			srv_count[$name]=$((${srv_count[$name]:-0} + 1))
			;;
		esac
	done <"$d/zone.conf"
	printf '%s dnsmasq %s\n' "$(date +%T)" "${args[*]}" >>"$WORK/commands.log"
	ip netns exec "$(dns_ns)" "$dnsmasq" --keep-in-foreground --user=root \
		--no-resolv --no-hosts --conf-file=/dev/null --local="/$ZONE/" \
		--domain-needed --bogus-priv --no-poll --no-negcache \
		--listen-address="$DNS_IP" --bind-interfaces --port="$DNS_PORT" \
		--pid-file="$d/dnsmasq.pid" --log-queries \
		--log-facility="$d/dnsmasq.log" "${args[@]}" \
		>>"$d/dnsmasq.out" 2>&1 </dev/null &
	DNSMASQ_PID=$!
	WAIT_IGNORE_AGENTS=1 wait_for "dnsmasq answers on $DNS_IP:$DNS_PORT" 10 \
		dns_query "$ZONE" SOA || {
		kill -0 "$DNSMASQ_PID" 2>/dev/null || cat "$d/dnsmasq.out" >&2
		fail "dnsmasq did not start (zone: $d/zone.conf)"
	}
	[ "${DNS_VERIFY:-1}" = 1 ] || return 0
	for name in "${!srv_count[@]}"; do
		_dns_answers "$name" SRV "${srv_count[$name]}" >/dev/null ||
			fail "zone check: $name SRV: want ${srv_count[$name]} answers, got '$(dns_query "$name" SRV)'"
	done
	while IFS= read -r line; do
		case $line in host-record=*) ;; *) continue ;; esac
		name=${line#host-record=}
		name=${name%%,*}
		n=$(dns_query "$name" A) || n="no reply"
		if [ "${n%% *}" != 0 ] || [ "${n#* }" -lt 1 ]; then
			fail "zone check: $name A: got '$n'"
		fi
	done <"$d/zone.conf"
}

# zone_lines N [SERVICE]: the directives publishing h1..hN: one SRV record
# per host under SERVICE (default _etcd-server._tcp) with port 2380, and an
# A record hI.zl.test -> 10.99.0.I.
zone_lines() {
	local n=$1 svc=${2:-_etcd-server._tcp} i
	for ((i = 1; i <= n; i++)); do
		printf 'srv-host=%s.%s,h%s.%s,2380,0,10\n' "$svc" "$ZONE" "$i" "$ZONE"
		printf 'host-record=h%s.%s,%s\n' "$i" "$ZONE" "$(host_ip "$i")"
	done
}
# zone_std N [SERVICE]: publishes exactly zone_lines N SERVICE.
zone_std() {
	local -a lines
	mapfile -t lines < <(zone_lines "$@")
	dns_zone "${lines[@]}"
}

# ---------------------------------------------------------------- agents

need_zooinit() {
	[ -n "$ZOOINIT" ] || die "ZOOINIT is not set (run tests through run.sh BINARY)"
	[ -x "$ZOOINIT" ] || die "ZOOINIT=$ZOOINIT is not executable"
}

_rotate() { # FILE: moves FILE to FILE.1 (FILE.1 to FILE.2, ...)
	local f=$1 n=1
	[ -e "$f" ] || return 0
	while [ -e "$f.$n" ]; do n=$((n + 1)); done
	for (( ; n > 1; n--)); do mv "$f.$((n - 1))" "$f.$n"; done
	mv "$f" "$f.1"
}

# The flags every agent gets: zone, DNS server, its own data dir.
_agent_flags() { # I
	printf '%s\n' --domain "$ZONE" --dns-server "$DNS_IP:$DNS_PORT" \
		--data-dir "$WORK/h$1/data"
}

# run_agent I ARGS...: starts `$ZOOINIT bootstrap --domain zl.test
# --dns-server 10.99.0.53:53 --data-dir $WORK/hI/data ARGS...` in host I in
# the background, output in $WORK/hI/agent.log (an earlier log becomes
# agent.log.1, ...). AGENT_PID[I] is the PID of what was started (with
# AGENT_PREFIX set: of the prefix command, e.g. unshare).
run_agent() {
	local i=$1 d
	local -a flags
	shift
	need_zooinit
	d=$WORK/h$i
	mkdir -p "$d"
	_rotate "$d/agent.log"
	mapfile -t flags < <(_agent_flags "$i")
	printf '%s h%s: %s %s bootstrap %s %s\n' "$(date +%T)" "$i" \
		"${AGENT_PREFIX[*]}" "$ZOOINIT" "${flags[*]}" "$*" >>"$WORK/commands.log"
	ip netns exec "$(host_ns "$i")" "${AGENT_PREFIX[@]}" "$ZOOINIT" bootstrap \
		"${flags[@]}" "$@" >"$d/agent.log" 2>&1 </dev/null &
	AGENT_PID[i]=$!
}

# run_plan I ARGS...: runs `$ZOOINIT plan` with the same standard flags in
# host I in the foreground (at most 60 s), output in $WORK/hI/plan.log
# (rotated like agent.log); returns its exit status.
run_plan() {
	local i=$1 d rc=0
	local -a flags
	shift
	need_zooinit
	d=$WORK/h$i
	mkdir -p "$d"
	_rotate "$d/plan.log"
	mapfile -t flags < <(_agent_flags "$i")
	printf '%s h%s: %s plan %s %s\n' "$(date +%T)" "$i" "$ZOOINIT" \
		"${flags[*]}" "$*" >>"$WORK/commands.log"
	timeout -k 5 60 ip netns exec "$(host_ns "$i")" "$ZOOINIT" plan \
		"${flags[@]}" "$@" >"$d/plan.log" 2>&1 </dev/null || rc=$?
	return "$rc"
}

# run_serve I TAG ARGS...: `zooinit discovery serve ARGS...` in host I in the
# background with the seed data dir $WORK/hI/TAG; stdout (the token URL) in
# $WORK/hI/TAG.out, stderr in $WORK/hI/TAG.log; PID in SERVE_PID.
run_serve() {
	local i=$1 tag=$2 d=$WORK/h$1
	shift 2
	mkdir -p "$d"
	printf '%s h%s: %s discovery serve --seed-data-dir %s %s\n' "$(date +%T)" \
		"$i" "$ZOOINIT" "$d/$tag" "$*" >>"$WORK/commands.log"
	ip netns exec "$(host_ns "$i")" "$ZOOINIT" discovery serve \
		--seed-data-dir "$d/$tag" "$@" >"$d/$tag.out" 2>"$d/$tag.log" </dev/null &
	# shellcheck disable=SC2034 # read by the tests that source this file
	SERVE_PID=$!
}
# serve_url I TAG: the line serve printed for bootstrap (fails while there
# is none): a v2 token URL, or on an etcd without the v2 API (3.6+)
# "--discovery-endpoints URL --discovery-token TOKEN".
serve_url() {
	local u
	u=$(grep -m1 -E '^(http://|--discovery-endpoints )' "$WORK/h$1/$2.out" 2>/dev/null) || return 1
	[ -n "$u" ] && printf '%s\n' "$u"
}
serve_printed_url() { # I TAG PID: for wait_for; also stops when serve exited
	kill -0 "$3" 2>/dev/null || {
		echo "discovery serve exited"
		return 0 # stop waiting; the caller checks the URL
	}
	serve_url "$1" "$2" >/dev/null
}
# disc_parse LINE: what serve_url printed (or discovery new), as the
# discovery settings of bootstrap: DISC (--discovery URL, or
# --discovery-endpoints EP --discovery-token TOK), TOK, DISC_EP (the
# discovery etcd's client URL) and DISC_DETAIL (the journal's and plan's
# source_detail: the URL, or "token TOK at EP").
disc_parse() {
	case $1 in
	--discovery-endpoints\ *)
		read -r _ DISC_EP _ TOK <<<"$1"
		DISC=(--discovery-endpoints "$DISC_EP" --discovery-token "$TOK")
		DISC_DETAIL="token $TOK at $DISC_EP"
		;;
	*)
		TOK=${1##*/}
		DISC=(--discovery "$1")
		DISC_EP=${1%%/v2/*}
		DISC_DETAIL=$1
		;;
	esac
}
# etcd_has_v2: the etcd on PATH has the v2 keys API (3.4, 3.5), so the seed
# serves v2 token URLs; 3.6 and later serve the v3 layout.
etcd_has_v2() { etcd --version 2>/dev/null | grep -qE '^etcd Version: 3\.[0-5]\.'; }
# token_get I KEY: the value of KEY (relative to the token, e.g.
# _config/size) in the token DISC_EP/TOK of either layout, read from inside
# host I.
token_get() {
	if [ "${DISC[0]}" = --discovery ]; then
		timeout -k 2 10 ip netns exec "$(host_ns "$1")" curl -sf --max-time 5 \
			"${DISC[1]}/$2" | jq -r .node.value
	else
		timeout -k 2 10 ip netns exec "$(host_ns "$1")" etcdctl \
			--endpoints "$DISC_EP" get --print-value-only "/_etcd/registry/$TOK/$2"
	fi
}
# token_members I: the registrations under the token, one "name=url" per
# line, sorted, read from inside host I.
token_members() {
	if [ "${DISC[0]}" = --discovery ]; then
		timeout -k 2 10 ip netns exec "$(host_ns "$1")" curl -sf --max-time 5 \
			"${DISC[1]}?recursive=true" |
			jq -r '.node.nodes[]? | select(.dir != true) | .value' | sort
	else
		timeout -k 2 10 ip netns exec "$(host_ns "$1")" etcdctl \
			--endpoints "$DISC_EP" get --prefix --print-value-only \
			"/_etcd/registry/$TOK/members/" | grep . | sort
	fi
}
# start_seed I ARGS...: run_serve I serve ARGS... and waits (60 s) for the
# line it prints; sets URL (that line) and, through disc_parse, TOK, DISC,
# DISC_EP and DISC_DETAIL.
start_seed() {
	local i=$1
	shift
	run_serve "$i" serve "$@"
	WAIT_IGNORE_AGENTS=1 wait_for "discovery serve prints the token URL" 60 \
		serve_printed_url "$i" serve "$SERVE_PID" || fail "discovery serve printed no URL"
	URL=$(serve_url "$i" serve) || fail "discovery serve exited without a URL (see h$i/serve.log)"
	disc_parse "$URL"
}

agent_pid() { printf '%s\n' "${AGENT_PID[$1]:-}"; }
agent_alive() { [ -n "${AGENT_PID[$1]:-}" ] && kill -0 "${AGENT_PID[$1]}" 2>/dev/null; }
agent_signal() { # I SIGNAL
	[ -n "${AGENT_PID[$1]:-}" ] || fail "agent h$1 is not running"
	kill -s "$2" "${AGENT_PID[$1]}" 2>/dev/null
}

# agent_wait I TIMEOUT_S: waits (bounded) for agent I to exit. Returns 0
# when it did, with its exit status in AGENT_RC (it is then no longer
# tracked); returns 1 if it still runs.
agent_wait() {
	local i=$1 limit=$2 pid start=$SECONDS rc=0 n
	pid=${AGENT_PID[$i]:-}
	AGENT_RC=""
	[ -n "$pid" ] || return 0
	for ((n = 0; n <= limit * 5; n++)); do
		kill -0 "$pid" 2>/dev/null || break
		[ $((SECONDS - start)) -ge "$limit" ] && return 1
		sleep 0.2
	done
	kill -0 "$pid" 2>/dev/null && return 1
	wait "$pid" 2>/dev/null || rc=$?
	AGENT_RC=$rc
	AGENT_PID[i]=""
	return 0
}

# PIDs of the etcd processes in host I (empty output = none).
etcd_pids() {
	local p
	for p in $(ns_pids "$1"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = etcd ] && echo "$p"
	done
	return 0
}
# etcd_argv_has I FLAG...: host I's (first) etcd runs with each FLAG, a
# part of its command line; the line is kept in hI/etcd-argv.txt.
etcd_argv_has() {
	local f=$WORK/h$1/etcd-argv.txt flag
	tr '\0' ' ' <"/proc/$(etcd_pids "$1" | head -n 1)/cmdline" >"$f"
	shift
	for flag in "$@"; do
		assert_contains "$f" "$flag"
	done
}

# ---------------------------------------------------------------- etcd

# ectl I ARGS...: etcdctl (v3 API) inside host I against its own member,
# bounded to 15 s.
ectl() {
	local i=$1
	shift
	timeout -k 2 15 ip netns exec "$(host_ns "$i")" env ETCDCTL_API=3 \
		etcdctl --endpoints "http://$(host_ip "$i"):2379" \
		--dial-timeout=2s --command-timeout=5s "$@"
}

# cluster_members I: the number of started voting members host I's member
# knows ("id, started, name, peerURLs, clientURLs, isLearner" lines of
# `member list`; unstarted members and learners are not counted).
cluster_members() {
	local out
	out=$(ectl "$1" member list) || {
		echo 0
		return 1
	}
	printf '%s\n' "$out" | grep -c ', started, .*, false$'
	return 0
}
# cluster_member_names I: the started members' names, sorted, one per line.
cluster_member_names() {
	ectl "$1" member list | awk -F', ' '$2 == "started" { print $3 }' | sort
}
# cluster_leader_count [I]: how many members report being the leader in
# `endpoint status --cluster` asked through host I (default 1).
# leader_endpoints: reads `etcdctl endpoint status -w fields` on stdin and
# prints the endpoint of each member that is its own leader. The field
# names are the same on etcd 3.4 to 3.7; the table's columns are not.
leader_endpoints() {
	awk -F' : ' '$1 == "\"MemberID\"" { m = $2 }
		$1 == "\"Leader\"" { l = ($2 == m) }
		$1 == "\"Endpoint\"" && l { gsub(/"/, "", $2); print $2; l = 0 }'
}
cluster_leader_count() {
	ectl "${1:-1}" endpoint status --cluster -w fields 2>/dev/null |
		leader_endpoints | wc -l
}
# cluster_id I: the cluster ID (decimal) host I's member reports.
cluster_id() {
	local id
	id=$(ectl "$1" endpoint status -w json | grep -o '"cluster_id":[0-9]*' | head -n 1)
	[ -n "$id" ] || return 1
	printf '%s\n' "${id#*:}"
}
# cluster_healthy [N]: every host 1..N (default: all of net_up's hosts)
# sees N started voting members and answers a quorum read, and exactly one
# member is the leader.
cluster_healthy() {
	local n=${1:-$NHOSTS} i m
	for ((i = 1; i <= n; i++)); do
		m=$(cluster_members "$i")
		[ "$m" = "$n" ] || {
			echo "h$i: $m started voting members"
			return 1
		}
		ectl "$i" endpoint health || return 1
	done
	m=$(cluster_leader_count 1)
	echo "leaders: $m"
	[ "$m" = 1 ]
}

# ---------------------------------------------------------------- cleanup

# zi_sweep PREFIX: kills every process in the namespaces PREFIX{br,dns,hN}
# and deletes them with their /etc/netns entries. Bounded; idempotent.
zi_sweep() {
	local prefix=$1 ns n
	local -a nss pids
	mapfile -t nss < <(ip netns list 2>/dev/null | awk '{ print $1 }' |
		grep -E "^${prefix}(br|dns|h[0-9]+)\$")
	for ns in "${nss[@]}"; do
		mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
		[ "${#pids[@]}" -eq 0 ] || kill -TERM "${pids[@]}" 2>/dev/null
	done
	local start=$SECONDS
	for ((n = 0; n < 30 && SECONDS - start < 10; n++)); do
		pids=()
		for ns in "${nss[@]}"; do
			mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$ns" 2>/dev/null)
		done
		[ "${#pids[@]}" -eq 0 ] && break
		[ "$n" -ge 15 ] && kill -KILL "${pids[@]}" 2>/dev/null
		sleep 0.2
	done
	[ "${#pids[@]}" -eq 0 ] || printf 'lib.sh: processes left in namespaces: %s\n' "${pids[*]}" >&2
	for ns in "${nss[@]}"; do
		ip netns del "$ns" 2>/dev/null
		case $ns in ?*) rm -rf "/etc/netns/$ns" ;; esac
	done
}

_dump_logs() {
	local f ns
	local -a pids
	printf '\n===== processes in the test namespaces\n' >&2
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E "^${P}(dns|h[0-9]+)\$"); do
		mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
		[ "${#pids[@]}" -gt 0 ] || continue
		printf -- '--- %s\n' "$ns" >&2
		ps -o pid,ppid,stat,args -p "$(
			IFS=,
			echo "${pids[*]}"
		)" >&2
	done
	[ -d "${WORK:-}" ] || return 0
	while IFS= read -r f; do
		if [ -s "$f" ]; then
			printf '\n===== %s (last %s lines)\n' "${f#"$WORK"/}" "${LOG_TAIL:-40}" >&2
			tail -n "${LOG_TAIL:-40}" "$f" >&2
		else
			printf '\n===== %s (empty)\n' "${f#"$WORK"/}" >&2
		fi
	done < <(find "$WORK" -type f \( -name '*.log' -o -name '*.log.[0-9]*' \
		-o -name '*.out' \) ! -name .wait_for.out | sort)
}

# Stops tracked agents first (they stop their etcd), then everything else.
zi_teardown() {
	local i n alive
	for i in "${!AGENT_PID[@]}"; do
		[ -n "${AGENT_PID[i]}" ] && kill -TERM "${AGENT_PID[i]}" 2>/dev/null
	done
	local start=$SECONDS
	for ((n = 0; n < 60 && SECONDS - start < 15; n++)); do
		alive=0
		for i in "${!AGENT_PID[@]}"; do
			[ -n "${AGENT_PID[i]}" ] && kill -0 "${AGENT_PID[i]}" 2>/dev/null && alive=1
		done
		[ "$alive" = 0 ] && break
		sleep 0.2
	done
	DNSMASQ_PID=""
	zi_sweep "$P"
	[ -z "$ZI_CGROUP" ] || rmdir "$ZI_CGROUP" 2>/dev/null
}

# pids_cgroup MAX: makes the cgroup $P of the pids controller (cgroup v1's
# pids hierarchy, or cgroup2's root when it delegates pids) with at most
# MAX processes and threads in it, sets ZI_CGROUP to its directory (the
# teardown removes it); returns 1 when this machine has no such
# controller. A process joins it by writing its pid to
# $ZI_CGROUP/cgroup.procs.
pids_cgroup() {
	local d
	if [ -f /sys/fs/cgroup/pids/cgroup.procs ]; then
		d=/sys/fs/cgroup/pids/$P
	elif grep -qw pids /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then
		d=/sys/fs/cgroup/$P
	else
		return 1
	fi
	mkdir "$d" 2>/dev/null || return 1
	ZI_CGROUP=$d
	echo "$1" >"$d/pids.max"
}

_zi_exit() {
	local rc=$?
	trap '' INT TERM
	trap - EXIT
	set +e
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		_dump_logs
	fi
	zi_teardown
	if [ "${KEEP:-0}" = 1 ]; then
		printf '# KEEP=1: files kept in %s\n' "$WORK" >&2
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}

# ---------------------------------------------------------------- init

if [ "${ZI_NO_INIT:-0}" != 1 ]; then
	[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
	for _c in ip etcd etcdctl unshare timeout pgrep; do
		command -v "$_c" >/dev/null || die "missing program: $_c"
	done
	command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || die "missing program: dnsmasq"
	unset _c
	case $P in *[!A-Za-z0-9_]* | '') die "bad ZI_PREFIX '$P'" ;; esac
	WORK=$(mktemp -d "/tmp/${P}.XXXXXX") || die "mktemp failed"
	export WORK
	trap _zi_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	if [ -n "$ZOOINIT" ]; then
		case $ZOOINIT in /*) ;; *) ZOOINIT=$PWD/$ZOOINIT ;; esac
	fi
fi
