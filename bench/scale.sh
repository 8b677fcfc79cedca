# shellcheck shell=bash
# bench/scale.sh — the scale case (sourced by bench/run.sh). See
# bench/README.md.
#
# scale_phase: SCALE_V + EXTRAS fresh hosts (after the seed's host) all
# start `zooinit bootstrap --sources token --size SCALE_V` with one fresh
# token at once; the first SCALE_V to register become the voting members,
# every other one is an extra that runs etcd's grpc-proxy on its client
# port. Measured from the launch: when the voters form a healthy cluster,
# when each host first answers a quorum read over gRPC on its 2379, and
# when every host has; plus what the hosts cost in memory.

SCALE_FROM=0 # the hosts of the scale case are SCALE_FROM+1 .. SCALE_TO
SCALE_TO=0
declare -a SIP=() # SIP[I]: the address of scale host I

# mem_kb: "MemAvailable KERNEL" in kB, KERNEL being what the kernel holds
# for itself that namespaces and processes grow (SUnreclaim, Percpu,
# KernelStack, PageTables).
mem_kb() {
	awk '/^MemAvailable:/ { a = $2 } /^(SUnreclaim|Percpu|KernelStack|PageTables):/ { k += $2 }
		END { print a, k }' /proc/meminfo
}
kb_mb() { awk -v k="$1" 'BEGIN { printf "%+.0f MB", k / 1024 }'; }
mem_avail_kb() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }

# scale_net_up FROM TO: hosts FROM..TO on the bridge of net_up (lib.sh's
# net_up stops at 50 hosts; host_ip in run.sh skips the DNS address).
#
# The kernel's neighbour (ARP) table is one for all network namespaces,
# limited by net.ipv4.neigh.default.gc_thresh3 (1024): a few hundred hosts
# that all talk to the voters and the seed overflow it ("neighbor table
# overflow"), which times out connections here and on the rest of the
# machine. Permanent entries do not count against that limit, so every
# scale host and the seed get one for every scale host and the seed, with
# MAC addresses set from the host number: no ARP at all.
scale_net_up() {
	local i ns b=$WORK/neigh.batch seed_mac
	: >"$b"
	SIP=()
	for ((i = $1; i <= $2; i++)); do
		ns=$(host_ns "$i")
		SIP[i]=$(host_ip "$i")
		_port_up "$ns" "vh$i" "${SIP[i]}"
		ip -n "$ns" link set eth0 address "$(printf '02:99:00:00:%02x:%02x' $((i >> 8)) $((i & 255)))" ||
			fail "cannot set the MAC address of $ns"
		printf 'neigh replace %s lladdr 02:99:00:00:%02x:%02x nud permanent dev eth0\n' \
			"$(host_ip "$i")" $((i >> 8)) $((i & 255)) >>"$b"
	done
	seed_mac=$(ip -n "$SEED_NS" -o link show eth0 | sed -n 's|.*link/ether \([0-9a-f:]*\).*|\1|p')
	[ -n "$seed_mac" ] || fail "no MAC address on the seed's eth0"
	printf 'neigh replace %s lladdr %s nud permanent dev eth0\n' "$SEED_IP" "$seed_mac" >>"$b"
	for ((i = $1; i <= $2; i++)); do
		ip -n "$(host_ns "$i")" -batch "$b" || fail "permanent neighbours in $(host_ns "$i") failed"
	done
	ip -n "$SEED_NS" -batch "$b" || fail "permanent neighbours in $SEED_NS failed"
	for ((i = $1; i <= $2; i++)); do
		WAIT_IGNORE_AGENTS=1 wait_for "" 10 _link_up "$(host_ns "$i")" >/dev/null ||
			fail "eth0 of $(host_ns "$i") did not come up"
	done
}

# scale_net_down: kills everything in the scale hosts and deletes them
# (bounded), so the memory is free again before the plot.
scale_net_down() {
	local i
	kill_hosts $((SCALE_FROM + 1)) "$SCALE_TO"
	for ((i = SCALE_FROM + 1; i <= SCALE_TO; i++)); do
		ip netns del "$(host_ns "$i")" 2>/dev/null
		rm -rf "/etc/netns/$(host_ns "$i")"
	done
	ip -n "$SEED_NS" neigh flush dev eth0 nud permanent 2>/dev/null
}

# scale_poll I...: one `curl --parallel` from the seed's host: a gRPC
# KV.Range of the key "bench" (a linearizable read, so it needs a quorum)
# on http://IP:2379 of every host I, and while VOTERS is empty a JSON
# member list from every scale host (grpc-proxy has no JSON gateway, so
# only members answer it). Sets POLL_NS after the replies came, SERVED to
# the hosts whose read ended with grpc-status 0, and VOTERS to the hosts
# named in a member list of SCALE_V members.
scale_poll() {
	local i f
	# All at once (curl's most): a proxy that waits for the cluster holds
	# its request for the whole second.
	local -a args=(--parallel --parallel-immediate --parallel-max 300)
	local -a c=(-s --max-time 1 -o)
	rm -f "$PD"/g* "$PD"/l*
	for i in "$@"; do
		args+=("${c[@]}" /dev/null --http2-prior-knowledge -X POST -D "$PD/g$i"
			-H 'content-type: application/grpc' -H 'te: trailers'
			--data-binary "@$WORK/range.bin"
			"http://${SIP[i]}:2379/etcdserverpb.KV/Range" --next)
	done
	if [ "${#VOTERS[@]}" = 0 ]; then
		for ((i = SCALE_FROM + 1; i <= SCALE_TO; i++)); do
			args+=("${c[@]}" "$PD/l$i" -X POST -d '{}'
				"http://${SIP[i]}:2379/v3/cluster/member/list" --next)
		done
	fi
	if [ "${#args[@]}" -gt 4 ]; then
		unset 'args[${#args[@]}-1]' # the last --next
		ip netns exec "$SEED_NS" curl "${args[@]}" >/dev/null 2>&1
	fi
	POLL_NS=$(now_ns)
	SERVED=()
	while IFS= read -r f; do
		SERVED+=("${f##*/g}")
	done < <(grep -lE '^grpc-status: 0[[:space:]]*$' "$PD"/g* 2>/dev/null)
	[ "${#VOTERS[@]}" = 0 ] || return 0
	# (grep first: one jq per host would make a round take seconds)
	for f in $(grep -l '"members"' "$PD"/l* 2>/dev/null); do
		jq -r '.members[]?.clientURLs[]?' "$f" 2>/dev/null |
			sed -n 's|^http://\([0-9.]*\):2379$|\1|p' >"$PD/vips"
		[ "$(grep -c . "$PD/vips")" = "$SCALE_V" ] || continue
		for ((i = SCALE_FROM + 1; i <= SCALE_TO; i++)); do
			grep -qxF "${SIP[i]}" "$PD/vips" && VOTERS+=("$i")
		done
		[ "${#VOTERS[@]}" = "$SCALE_V" ] || VOTERS=()
		return 0
	done
}

# scale_mem CLASS PID...: "CLASS: N processes, Rss .. MB, Pss .. MB,
# Anonymous .. MB, CPU .. s" (sums).
scale_mem() {
	local class=$1 p
	local -a f=()
	shift
	for p in "$@"; do f+=("/proc/$p/smaps_rollup"); done
	[ "${#f[@]}" -gt 0 ] || {
		echo "$class: 0 processes"
		return
	}
	# CPU: utime + stime (fields 14, 15 of /proc/PID/stat, in clock
	# ticks; the comm field has no spaces here).
	local cpu
	cpu=$(for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null; done |
		awk -v hz="$(getconf CLK_TCK)" '{ t += $14 + $15 } END { printf "%.1f", t / hz }')
	awk -v c="$class" -v n="${#f[@]}" -v cpu="$cpu" '/^Rss:/ { r += $2 } /^Pss:/ { p += $2 }
		/^Anonymous:/ { a += $2 }
		END { printf "%s: %d processes, Rss %.0f MB, Pss %.0f MB, Anonymous %.0f MB, CPU %s s\n",
			c, n, r / 1024, p / 1024, a / 1024, cpu }' "${f[@]}" 2>/dev/null
}

# scale_costs: emits the memory and CPU time of the scale hosts' processes
# by kind, and the discovery seed's.
scale_costs() {
	local i p comm
	local -a ag=() vo=() px=()
	for ((i = SCALE_FROM + 1; i <= SCALE_TO; i++)); do
		for p in $(ns_pids "$i"); do
			comm=$(cat "/proc/$p/comm" 2>/dev/null)
			case $comm in
			zooinit) ag+=("$p") ;;
			etcd)
				if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q ' grpc-proxy '; then
					px+=("$p")
				else
					vo+=("$p")
				fi
				;;
			esac
		done
	done
	emit "# scale memory: $(scale_mem agents "${ag[@]}")"
	emit "# scale memory: $(scale_mem "etcd members" "${vo[@]}")"
	emit "# scale memory: $(scale_mem "etcd grpc-proxies" "${px[@]}")"
	emit "# scale memory: $(scale_mem "discovery seed (since its start)" "$SEED_PID")"
	SCALE_PROXIES=${#px[@]}
}

# scale_wait T0: polls until the voters are healthy and every host served
# a read, or SCALE_TIMEOUT s passed; sets VOTERS_NS, ALL_NS (the last
# host's first read) and FIRST[] (the clock of each host's first read).
# Returns 1 on timeout, 3 when an agent exited.
scale_wait() {
	local t0=$1 deadline i h
	local -a unserved
	deadline=$((t0 + SCALE_TIMEOUT * 1000000000))
	VOTERS_NS="" ALL_NS="" WHY=""
	FIRST=() VOTERS=() SCALE_POLLS=0
	while :; do
		unserved=()
		for ((i = SCALE_FROM + 1; i <= SCALE_TO; i++)); do
			[ -n "${FIRST[i]:-}" ] || unserved+=("$i")
		done
		# The voters' full check first (the hosts named by the member
		# list of an earlier round), then every host's read.
		if [ -z "$VOTERS_NS" ] && [ "${#VOTERS[@]}" = "$SCALE_V" ] &&
			poll_cluster "$SCALE_V" "${VOTERS[@]}" && etcdctl_health "${VOTERS[@]}"; then
			VOTERS_NS=$POLL_NS
		fi
		scale_poll "${unserved[@]}"
		SCALE_POLLS=$((SCALE_POLLS + 1))
		for h in "${SERVED[@]}"; do FIRST[h]=$POLL_NS; done
		if [ -n "$VOTERS_NS" ] && [ "${#unserved[@]}" = "${#SERVED[@]}" ]; then
			ALL_NS=$(printf '%s\n' "${FIRST[@]}" | sort -n | tail -n 1)
			return 0
		fi
		for i in "${!LPID[@]}"; do
			kill -0 "${LPID[i]}" 2>/dev/null || {
				WHY="h$i (pid ${LPID[i]}) exited"
				return 3
			}
		done
		[ "$(now_ns)" -lt "$deadline" ] || {
			WHY="$((${#unserved[@]} - ${#SERVED[@]})) hosts serve no reads after $SCALE_TIMEOUT s${VOTERS_NS:+" (voters healthy)"}"
			return 1
		}
		sleep "$SCALE_POLL"
	done
}

scale_phase() {
	local n=$((SCALE_V + EXTRAS)) need avail url t0 t1 rc=0 i s
	local -a m0 m1 m2
	local -a VOTERS=()
	SCALE_FROM=$SEED SCALE_TO=$((SEED + n))
	need=$((n * SCALE_MB))
	avail=$(($(mem_avail_kb) / 1024))
	if [ "$avail" -lt $((need + 1024)) ]; then
		emit "# scale: skipped: $n hosts need about $need MB (BENCH_SCALE_MB=$SCALE_MB each) + 1 GB, MemAvailable is $avail MB"
		return 0
	fi
	progress "scale: $SCALE_V voters + $EXTRAS extras on the token path: hosts h$((SCALE_FROM + 1))-h$SCALE_TO"
	read -ra m0 <<<"$(mem_kb)"
	scale_net_up $((SCALE_FROM + 1)) "$SCALE_TO"
	read -ra m1 <<<"$(mem_kb)"
	printf '\x00\x00\x00\x00\x07\x0a\x05bench' >"$WORK/range.bin"
	url=$(new_token "$SCALE_V") || fail "scale: could not create a token"
	rm -rf "$RD" && mkdir -p "$RD"
	LPID=()
	# Hundreds of starting processes starve the poller on a small machine,
	# and a late poll makes a late figure: the poller runs at nice -5, the
	# hosts at 0 as usual.
	renice -n -5 -p "$BASHPID" >/dev/null
	t0=$(now_ns)
	for ((i = SCALE_FROM + 1; i <= SCALE_TO; i++)); do
		ip netns exec "$(host_ns "$i")" nice -n 5 "$Z" bootstrap --sources token \
			--discovery "$url" --name "h$i" --size "$SCALE_V" --data-dir "$RD/h$i" \
			>"$RD/h$i.log" 2>&1 </dev/null &
		LPID[i]=$!
		disown "$!"
	done
	t1=$(now_ns)
	progress "scale: $n agents launched in $(secs "$t0" "$t1") s"
	scale_wait "$t0" || rc=$?
	renice -n 0 -p "$BASHPID" >/dev/null
	if [ "$rc" != 0 ]; then
		FAILED_RUNS=$((FAILED_RUNS + 1))
		mkdir -p "$OUT/failed/scale"
		cp "$RD"/*.log "$OUT/failed/scale/" 2>/dev/null
		rm -rf "$RD" # copied; lib.sh would print them all on exit
		progress "scale: FAILED ($WHY); logs in $OUT/failed/scale"
		emit "scale path=zooinit-token voters=$SCALE_V extras=$EXTRAS status=failed"
		printf 'scale\tzooinit-token\t%s\t1\tNA\tfailed\t%s\n' "$SCALE_V" "$WHY" >>"$OUT/raw.tsv"
		scale_net_down
		return 0
	fi
	sleep 2 # let the proxies' first connections settle before measuring
	read -ra m2 <<<"$(mem_kb)"
	scale_costs
	for ((i = SCALE_FROM + 1; i <= SCALE_TO; i++)); do
		s=extra
		[[ " ${VOTERS[*]} " == *" $i "* ]] && s=voter
		printf 'scalehost\tzooinit-token\t%s\t%s\t%s\tok\t%s\n' "$SCALE_V" "$i" \
			"$(secs "$t0" "${FIRST[i]}")" "$s" >>"$OUT/raw.tsv"
	done
	printf 'scale\tzooinit-token\t%s\t1\t%s\tok\tvoters=%s extras=%s proxies=%s\n' "$SCALE_V" \
		"$(secs "$t0" "$ALL_NS")" "$(secs "$t0" "$VOTERS_NS")" "$EXTRAS" "$SCALE_PROXIES" >>"$OUT/raw.tsv"
	emit "# scale memory: the $n namespaces with their veths and neighbour entries: kernel $(kb_mb $((m1[1] - m0[1]))), MemAvailable $(kb_mb $((m1[0] - m0[0]))); then the running hosts: kernel $(kb_mb $((m2[1] - m1[1]))), MemAvailable $(kb_mb $((m2[0] - m1[0]))) (MemAvailable moves with everything else on the machine too)"
	emit "scale path=zooinit-token voters=$SCALE_V extras=$EXTRAS proxies=$SCALE_PROXIES launch=$(secs "$t0" "$t1") voters_healthy=$(secs "$t0" "$VOTERS_NS") all_serving=$(secs "$t0" "$ALL_NS") polls=$SCALE_POLLS first_read $(stats scalehost zooinit-token "$SCALE_V")"
	progress "scale: voters healthy after $(secs "$t0" "$VOTERS_NS") s, every host serves reads after $(secs "$t0" "$ALL_NS") s"
	scale_net_down
}
