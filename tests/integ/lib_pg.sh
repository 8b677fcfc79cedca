#!/bin/bash
# Sourced by the Patroni tests after lib.sh: Patroni and Debian's
# PostgreSQL 15 through zooinit's `patroni` backend.

# need_patroni: skips the test without Patroni, PostgreSQL 15 or the
# postgres user.
need_patroni() {
	command -v patroni >/dev/null || skip "Debian's patroni package is not installed"
	[ -x /usr/lib/postgresql/15/bin/postgres ] || skip "PostgreSQL 15 is not installed"
	id postgres >/dev/null 2>&1 || skip "no postgres user"
	return 0
}

# pg_confs PASSWORD: $WORK/hI/zooinit.conf for hosts 1..3: h1 and h2 run
# the service "pg" (patroni, size 2, as postgres, superuser password
# PASSWORD), h3 none. PostgreSQL runs as postgres, so the directories on
# the way are made readable to it.
pg_confs() {
	local i
	chmod 0755 "$WORK"
	for i in 1 2 3; do
		mkdir -p "$WORK/h$i"
		chmod 0755 "$WORK/h$i"
		if [ "$i" = 3 ]; then
			: >"$WORK/h$i/zooinit.conf"
			continue
		fi
		cat >"$WORK/h$i/zooinit.conf" <<CONF
services = ("pg");
service = {
  pg = {
    backend = "patroni";
    size = 2;
    user = "postgres";
    data_dir = "$WORK/h$i/pg";
    su_password = "$1";
    repl_password = "repl-secret";
    health_interval = 2;
    start_timeout = 240;
  };
};
CONF
	done
}

# pg_rest I PATH: the HTTP status of Patroni's REST API on host I.
pg_rest() {
	timeout -k 1 5 ip netns exec "$(host_ns "$1")" curl -s -o /dev/null \
		-w '%{http_code}' "http://$(host_ip "$1"):8008$2"
}

# pg_roles: true when h1 and h2 are one primary and one replica; says what
# each answers.
pg_roles() {
	local p1 p2 r1 r2
	p1=$(pg_rest 1 /primary) p2=$(pg_rest 2 /primary)
	r1=$(pg_rest 1 /replica) r2=$(pg_rest 2 /replica)
	echo "h1 primary=$p1 replica=$r1; h2 primary=$p2 replica=$r2"
	{ [ "$p1" = 200 ] && [ "$r2" = 200 ]; } || { [ "$p2" = 200 ] && [ "$r1" = 200 ]; }
}
