# shellcheck shell=bash
# tests/integ/lib_metrics.sh — the metrics page and a real Prometheus.
# Sourced after lib.sh.
#
#   metrics_get I [PATH]    GET http://hI:9100PATH (default /metrics) from
#                           inside host I; the page on stdout (5 s bound)
#   metrics_value FILE EXPR the value of the sample EXPR (name{labels} as
#                           the page writes it) in FILE
#   prom_start I TARGETS... a Prometheus in host I on :9090 scraping
#                           TARGETS (ADDR:PORT) every second; files under
#                           $WORK/prom; PROM_PID
#   prom_query I QUERY      the first value of an instant query, or fails

METRICS_PORT=9100
PROM_PORT=9090

metrics_get() {
	timeout -k 2 8 ip netns exec "$(host_ns "$1")" curl -sf --max-time 5 \
		"http://$(host_ip "$1"):$METRICS_PORT${2:-/metrics}"
}

metrics_value() {
	awk -v k="$2" '$1 == k { print $2; found = 1; exit }
		END { exit !found }' "$1"
}

prom_start() {
	local i=$1 d=$WORK/prom t list=""
	shift
	mkdir -p "$d/data"
	for t in "$@"; do list="$list${list:+, }'$t'"; done
	cat >"$d/prometheus.yml" <<-YML
		global:
		  scrape_interval: 1s
		  scrape_timeout: 1s
		  evaluation_interval: 1s
		scrape_configs:
		  - job_name: zooinit
		    static_configs:
		      - targets: [$list]
	YML
	printf '%s h%s: prometheus --config.file %s\n' "$(date +%T)" "$i" \
		"$d/prometheus.yml" >>"$WORK/commands.log"
	ip netns exec "$(host_ns "$i")" prometheus \
		--config.file="$d/prometheus.yml" --storage.tsdb.path="$d/data" \
		--web.listen-address="$(host_ip "$i"):$PROM_PORT" \
		--log.level=warn >"$d/prometheus.log" 2>&1 </dev/null &
	PROM_PID=$!
}

prom_query() {
	local out
	out=$(timeout -k 2 8 ip netns exec "$(host_ns "$1")" curl -sf \
		--max-time 5 -G --data-urlencode "query=$2" \
		"http://$(host_ip "$1"):$PROM_PORT/api/v1/query") || return 1
	printf '%s\n' "$out" | jq -er '.data.result[0].value[1]'
}
