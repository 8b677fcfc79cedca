#!/bin/sh
# Makes sure the Debian packages zooinit builds and tests with are present.
# As root it installs what is missing; otherwise it prints the command.
set -eu
PKGS="gcc make pkg-config libc-ares-dev libcurl4-openssl-dev libjansson-dev
libconfig-dev libcmocka-dev libssl-dev etcd-server etcd-client dnsmasq-base
iproute2 util-linux procps busybox-static curl jq openssl python3 zookeeper
libslf4j-java patroni postgresql-15 prometheus"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q $missing >/dev/null
else
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: install them once with: sudo apt-get install -y$missing" >&2
	exit 1
fi
