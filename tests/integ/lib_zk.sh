#!/bin/bash
# Sourced by the ZooKeeper tests after lib.sh: Debian's ZooKeeper through
# zooinit's `zookeeper` backend, and ZooKeeper's own ways to look at it.

# need_zookeeper: skips the test without Debian's zookeeper or java; sets
# ZKCP, the class path of ZooKeeper's own client.
need_zookeeper() {
	[ -f /usr/share/java/zookeeper.jar ] || skip "Debian's zookeeper package is not installed"
	command -v java >/dev/null || skip "no java"
	ZKCP=/usr/share/java/zookeeper.jar
	[ -f /usr/share/java/slf4j-simple.jar ] && ZKCP=$ZKCP:/usr/share/java/slf4j-simple.jar
	return 0
}

# zk_conf I: the zooinit config of host I, one service zk of size 3.
zk_conf() {
	cat <<EOF2
services = ("zk");
service = {
  zk = {
    backend = "zookeeper";
    size = 3;
    data_dir = "$WORK/h$1/zk";
    health_interval = 2;
    start_timeout = 180;
  };
};
EOF2
}

# zk_addr I: where host I's ZooKeeper listens; a test whose hosts move
# defines its own after sourcing this file.
zk_addr() { host_ip "$1"; }

# zk_srvr I: ZooKeeper's `srvr` answer from host I (bounded).
zk_srvr() {
	timeout -k 1 5 ip netns exec "$(host_ns "$1")" bash -c \
		'exec 3<>/dev/tcp/$0/2181 && echo srvr >&3 && cat <&3' "$(zk_addr "$1")" 2>/dev/null
}

# zk_mode I: leader, follower, observer, or nothing.
zk_mode() { zk_srvr "$1" | sed -n 's/^Mode: //p'; }

# zk_ensemble: one leader and two followers among h1..h3 (prints them).
zk_ensemble() {
	local i out=""
	for i in 1 2 3; do out="$out $(zk_mode "$i")"; done
	echo "modes:$out"
	[ "$(tr ' ' '\n' <<<"$out" | grep -c '^leader$')" = 1 ] &&
		[ "$(tr ' ' '\n' <<<"$out" | grep -c '^follower$')" = 2 ]
}

# zk_cli I ARGS...: ZooKeeper's own client against host I (bounded).
zk_cli() {
	local i=$1
	shift
	timeout -k 2 60 ip netns exec "$(host_ns "$i")" java -cp "$ZKCP" \
		org.apache.zookeeper.ZooKeeperMain -server "$(zk_addr "$i"):2181" "$@" 2>&1
}
