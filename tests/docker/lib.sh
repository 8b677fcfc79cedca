# shellcheck shell=bash
# tests/docker/lib.sh: what the Docker rig tests share. A test sets TAG
# (its name in output lines: "docker"), compose_file, proj (the compose
# project) and DOWN_GRACE (seconds `compose down` gives a container),
# t_start, failed=0, up=0, teardown_done=0, and then sources this file:
# say, skip, the compose command (dc), container helpers (cid, cname, cip,
# chealth), teardown on every exit (even on failure: the project's
# containers, networks and volumes go), finish RC, fail MSG, wait_for.

say() { printf '%s: [%3ss] %s\n' "$TAG" "$(($(date +%s) - t_start))" "$*"; }
skip() {
	echo "$TAG: SKIPPED — $*"
	echo "$TAG: 0 passed, 0 failed, 1 skipped"
	exit 0
}

if ! command -v docker >/dev/null 2>&1 || ! timeout 20 docker info >/dev/null 2>&1; then
	skip "no Docker engine answers"
fi

if docker compose version >/dev/null 2>&1; then
	compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
	compose=(docker-compose)
else
	compose=()
fi
dc() { "${compose[@]}" -f "$compose_file" -p "$proj" "$@"; }

# Containers, volumes and networks of our project, by compose's labels.
proj_containers() { docker ps -aq --filter "label=com.docker.compose.project=$proj"; }
cid() { # SERVICE -> container id
	docker ps -aq --filter "label=com.docker.compose.project=$proj" \
		--filter "label=com.docker.compose.service=$1" | head -n1
}
cname() { docker inspect -f '{{.Name}}' "$1" 2>/dev/null | sed 's,^/,,'; }
cip() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1" 2>/dev/null; }
chealth() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$1" 2>/dev/null; }

show_logs() {
	local c
	for c in $(proj_containers); do
		echo "----- last 30 log lines of $(cname "$c") ($(docker inspect -f '{{.State.Status}} exit={{.State.ExitCode}}' "$c" 2>/dev/null))"
		docker logs --tail 30 "$c" 2>&1
	done
	echo "-----"
}

teardown() {
	[ "$teardown_done" = 1 ] && return
	teardown_done=1
	if [ "$failed" = 1 ] && [ "$up" = 1 ]; then
		show_logs
	fi
	if [ "${KEEP:-}" = 1 ] && [ "$up" = 1 ]; then
		say "KEEP=1: project $proj left running; remove it with: ${compose[*]} -f $compose_file -p $proj down -v"
		return
	fi
	if [ "${#compose[@]}" -gt 0 ]; then
		dc down -v --remove-orphans -t "$DOWN_GRACE" >/dev/null 2>&1
	fi
	# Whatever compose did not remove (e.g. it failed half-way).
	local left
	mapfile -t left < <(proj_containers)
	[ "${#left[@]}" -gt 0 ] && docker rm -fv "${left[@]}" >/dev/null 2>&1
	mapfile -t left < <(docker network ls -q --filter "label=com.docker.compose.project=$proj")
	[ "${#left[@]}" -gt 0 ] && docker network rm "${left[@]}" >/dev/null 2>&1
	mapfile -t left < <(docker volume ls -q --filter "label=com.docker.compose.project=$proj")
	[ "${#left[@]}" -gt 0 ] && docker volume rm "${left[@]}" >/dev/null 2>&1
	if [ -n "$(proj_containers)$(docker network ls -q --filter "label=com.docker.compose.project=$proj")" ]; then
		say "WARNING: could not remove everything of project $proj"
	fi
}

finish() { # RC
	teardown
	if [ "$1" = 0 ]; then
		echo "$TAG: 1 passed, 0 failed"
	else
		echo "$TAG: 0 passed, 1 failed"
	fi
	exit "$1"
}
fail() {
	failed=1
	say "FAILED: $*"
	finish 1
}
trap 'failed=1; say "interrupted"; finish 1' INT TERM
trap 'teardown' EXIT

[ "${#compose[@]}" -gt 0 ] ||
	fail "neither \`docker compose\` nor \`docker-compose\` is installed (Debian: apt-get install docker-compose)"

# wait_for DESC SECS CMD...: run CMD every second until it succeeds.
wait_for() {
	local desc=$1 secs=$2 t0
	shift 2
	t0=$(date +%s)
	while ! "$@"; do
		if [ $(($(date +%s) - t0)) -ge "$secs" ]; then
			say "gave up after ${secs}s waiting for $desc"
			[ -n "${last_why:-}" ] && say "last state: $last_why"
			return 1
		fi
		sleep 1
	done
	say "$desc (after $(($(date +%s) - t0))s)"
}

