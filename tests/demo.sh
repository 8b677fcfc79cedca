#!/bin/sh
# make demo / make demo-stop: a local three-member etcd cluster found
# through a local DNS zone, without root. dnsmasq serves the zone demo.test
# on 127.0.0.1 at a high port; three zooinit agents play hosts
# 127.0.0.11-13 (all of 127.0.0.0/8 is local, so every "host" can use the
# same ports). Everything lives in ./demo and stops with `make demo-stop`.
set -u
DIR=${DEMO_DIR:-$(pwd)/demo}
PORT=${DEMO_DNS_PORT:-15353}
DOMAIN=demo.test
TIMEOUT=${DEMO_TIMEOUT:-60}

die() { echo "demo: $*" >&2; exit 1; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop() {
	[ -d "$DIR" ] || { echo "demo: nothing to stop"; return 0; }
	for i in 1 2 3; do
		alive "$DIR/h$i.pid" && kill -TERM "$(cat "$DIR/h$i.pid")"
	done
	n=0
	while [ $n -lt 30 ]; do
		left=0
		for i in 1 2 3; do alive "$DIR/h$i.pid" && left=1; done
		[ $left = 0 ] && break
		n=$((n + 1)); sleep 1
	done
	for i in 1 2 3; do
		alive "$DIR/h$i.pid" && kill -KILL "$(cat "$DIR/h$i.pid")"
	done
	alive "$DIR/dnsmasq.pid" && kill -TERM "$(cat "$DIR/dnsmasq.pid")"
	rm -rf "$DIR"
	echo "demo: stopped; $DIR removed"
}

start() {
	bin=$1
	[ -x "$bin" ] || die "no zooinit binary at $bin"
	for p in dnsmasq etcd etcdctl; do
		command -v $p >/dev/null 2>&1 || [ -x /usr/sbin/$p ] ||
			die "$p is missing; run make deps (or see README)"
	done
	DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
	if alive "$DIR/dnsmasq.pid"; then
		die "already running; stop it first with: make demo-stop"
	fi
	rm -rf "$DIR"
	mkdir -p "$DIR"
	cat > "$DIR/zone.conf" <<ZONE
# The demo zone: what an operator would publish for three hosts.
no-resolv
no-hosts
local=/$DOMAIN/
listen-address=127.0.0.1
bind-interfaces
port=$PORT
srv-host=_etcd-server._tcp.$DOMAIN,h1.$DOMAIN,2380,0,10
srv-host=_etcd-server._tcp.$DOMAIN,h2.$DOMAIN,2380,0,10
srv-host=_etcd-server._tcp.$DOMAIN,h3.$DOMAIN,2380,0,10
host-record=h1.$DOMAIN,127.0.0.11
host-record=h2.$DOMAIN,127.0.0.12
host-record=h3.$DOMAIN,127.0.0.13
ZONE
	user=""
	[ "$(id -u)" = 0 ] && user="--user=root"
	# shellcheck disable=SC2086
	"$DNSMASQ" --conf-file="$DIR/zone.conf" --pid-file= --keep-in-foreground \
		--log-facility="$DIR/dnsmasq.log" $user &
	echo $! > "$DIR/dnsmasq.pid"

	# The same configuration for every agent but the address: on one
	# machine all three "hosts" share their local addresses, so each
	# names its own.
	for i in 1 2 3; do
		ZOOINIT_DOMAIN=$DOMAIN ZOOINIT_DNS_SERVER=127.0.0.1:$PORT \
		ZOOINIT_SIZE=3 ZOOINIT_DATA_DIR="$DIR/h$i/etcd" \
			"$bin" bootstrap --ip 127.0.0.1$i > "$DIR/h$i.log" 2>&1 &
		echo $! > "$DIR/h$i.pid"
	done

	echo "demo: 3 agents started; waiting for a healthy cluster (at most ${TIMEOUT} s)"
	n=0
	while :; do
		ok=0
		for i in 1 2 3; do
			grep -q 'cluster healthy' "$DIR/h$i.log" 2>/dev/null && ok=$((ok + 1))
			alive "$DIR/h$i.pid" || { tail -5 "$DIR/h$i.log" >&2;
				stop >/dev/null; die "agent h$i exited; see above"; }
		done
		[ $ok = 3 ] && break
		n=$((n + 1))
		[ $n -ge "$TIMEOUT" ] && { tail -5 "$DIR"/h*.log >&2; stop >/dev/null;
			die "no healthy cluster after $TIMEOUT s"; }
		sleep 1
	done
	grep -h 'cluster healthy' "$DIR/h1.log" | tail -1
	EP=http://127.0.0.11:2379,http://127.0.0.12:2379,http://127.0.0.13:2379
	ETCDCTL_API=3 etcdctl --endpoints "$EP" member list -w table
	ETCDCTL_API=3 etcdctl --endpoints "$EP" endpoint status -w table
	cat <<MSG
demo: running. Try:
  $bin status --endpoints http://127.0.0.11:2379
  ETCDCTL_API=3 etcdctl --endpoints $EP put hello world
  ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.13:2379 get hello
  kill -9 \$(pgrep -f 'etcd --name h2 ')   # the h2 agent restarts it
logs: $DIR/h1.log $DIR/h2.log $DIR/h3.log
stop: make demo-stop
MSG
}

case "${1:-}" in
start) start "${2:-build/zooinit}" ;;
stop) stop ;;
*) die "usage: demo.sh start BINARY | stop" ;;
esac
