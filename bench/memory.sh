# shellcheck shell=bash
# bench/memory.sh — the agent's own memory as it runs more services
# (sourced by bench/run.sh, which defines the network, poll_member, emit,
# progress and now_ns; proc_mem, proc_vol and per_s come from
# bench/agent.sh). See bench/README.md.
#
# memory_phase: for each scheme (http, and https with certificates the
# agent makes from a CA) and each S in MEM_SERVICES, one agent in host h1
# bootstraps a one-member cluster and runs S services of backend custom,
# size 1, whose OnStart hook execs `sleep`. Once every service has
# started and the agent has idled 5 + MEM_IDLE_S seconds: its Anonymous
# (smaps_rollup), its heap (the [heap] mapping's Anonymous), its TCP
# connections, and its voluntary wakeups per second over the last
# MEM_IDLE_S seconds.

# mem_conf S SCHEME: the config file of one case; prints its path.
mem_conf() {
	local s=$1 scheme=$2 i f=$RD/mem.conf
	{
		printf 'initial_cluster = "h1=%s://%s:2380";\n' "$scheme" "$(host_ip 1)"
		printf 'name = "h1";\ndata_dir = "%s/etcd";\n' "$RD"
		if [ "$scheme" = https ]; then
			printf 'ca_file = "%s/ca/ca.crt";\nca_key_file = "%s/ca/ca.key";\n' "$RD" "$RD"
		fi
		if [ "$s" -gt 0 ]; then
			printf 'services = ('
			for ((i = 1; i <= s; i++)); do printf '%s"s%d"' "$([ "$i" -gt 1 ] && echo ,)" "$i"; done
			printf ');\nservice = {\n'
			for ((i = 1; i <= s; i++)); do
				printf '  s%d = { backend = "custom"; size = 1; data_dir = "%s/s%d";\n' "$i" "$RD" "$i"
				printf '    hooks = { OnStart = ("%s/hook.sh", "%s"); }; };\n' "$RD" "$RD"
			done
			printf '};\n'
		fi
	} >"$f"
	printf '%s\n' "$f"
}

# mem_started S: every one of the S services' OnStart hooks has run.
mem_started() {
	[ "$(find "$RD" -maxdepth 1 -name 'started.*' | wc -l)" -ge "$1" ]
}

# mem_case S SCHEME: one measurement; emits its results line.
mem_case() {
	local s=$1 scheme=$2 conf pid deadline anon heap conns v0 v1 t0 t1
	kill_hosts 1 1
	rm -rf "$RD" && mkdir -p "$RD"
	printf '%s\n' '#!/bin/sh' \
		'[ "$ZOOINIT_CLUSTER_EVENT" = OnStart ] || exit 0' \
		': >"$1/started.$ZOOINIT_CLUSTER_SERVICE"' \
		'exec sleep 100000' >"$RD/hook.sh"
	chmod +x "$RD/hook.sh"
	if [ "$scheme" = https ]; then
		"$Z" ca init "$RD/ca" >/dev/null || fail "memory: zooinit ca init failed"
	fi
	conf=$(mem_conf "$s" "$scheme")
	ip netns exec "$(host_ns 1)" "$Z" bootstrap -f "$conf" >"$RD/h1.log" 2>&1 </dev/null &
	pid=$!
	disown "$!"
	deadline=$((SECONDS + RUN_TIMEOUT))
	until mem_started "$s"; do
		kill -0 "$pid" 2>/dev/null || {
			mkdir -p "$OUT/failed" && cp -r "$RD" "$OUT/failed/memory-$scheme-$s" 2>/dev/null
			fail "memory: the agent ($scheme, $s services) exited; see $OUT/failed/memory-$scheme-$s"
		}
		[ "$SECONDS" -lt "$deadline" ] || fail "memory: $s services ($scheme) not started after $RUN_TIMEOUT s"
		sleep 0.2
	done
	# Its wakeups are counted over MEM_IDLE_S after 5 s of settling.
	sleep 5
	read -r v0 _ <<<"$(proc_vol "$pid")"
	t0=$(now_ns)
	sleep "$MEM_IDLE_S"
	read -r v1 _ <<<"$(proc_vol "$pid")"
	t1=$(now_ns)
	read -r _ _ anon <<<"$(proc_mem "$pid")"
	heap=$(awk '/\[heap\]/ { f = 1 } f && /^Anonymous:/ { print $2; exit }' "/proc/$pid/smaps" 2>/dev/null)
	conns=$(ip netns exec "$(host_ns 1)" ss -tnpH 2>/dev/null | grep -c "pid=$pid,")
	emit "memory scheme=$scheme services=$s anon_kb=${anon:-NA} heap_kb=${heap:-NA} tcp_connections=$conns voluntary_per_s=$(per_s "$v0" "$v1" $(((t1 - t0) / 1000000)))"
	kill_hosts 1 1
}

memory_phase() {
	local scheme s
	progress "memory: an idle agent running 0 to ${MEM_SERVICES##* } services, http and https"
	for scheme in http https; do
		for s in $MEM_SERVICES; do
			mem_case "$s" "$scheme"
		done
	done
	rm -rf "$RD"
}
