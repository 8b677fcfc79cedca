#!/bin/bash
# Builds the container images of the zooinit Docker rig without a registry:
#
#   zooinit:local      build/zooinit + Debian's /usr/bin/etcd and etcdctl
#   zooinit-dns:local  Debian's dnsmasq + a static busybox sh for its
#                      entrypoint (docker/dns-entrypoint.sh)
#
# Each image is `FROM scratch` plus one tar of a root filesystem assembled
# here from files on this machine: the binaries, every shared library `ldd`
# names (copied to the same path) and the dynamic loader, a minimal
# /etc/passwd, /etc/group and /etc/nsswitch.conf, and /tmp. Nothing is
# pulled. The work tree is build/docker/ (git-ignored, rebuilt every run),
# so running this again just rebuilds the same images.
#
# usage: docker/build.sh            (from anywhere; run `make` first)
# env:   DOCKER=docker              the docker client to use
#        ZI_IMAGE=zooinit:local     ZI_DNS_IMAGE=zooinit-dns:local
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
DOCKER=${DOCKER:-docker}
IMAGE=${ZI_IMAGE:-zooinit:local}
DNS_IMAGE=${ZI_DNS_IMAGE:-zooinit-dns:local}
AGENT_UID=10001 # the agent image's user "zooinit"
work=$top/build/docker

die() {
	echo "docker/build.sh: $*" >&2
	exit 1
}

# --- preconditions, each with the one thing to do about it -----------------
[ -x "$top/build/zooinit" ] ||
	die "build/zooinit is missing; run \`make\` in $top first"
for f in /usr/bin/etcd /usr/bin/etcdctl; do
	[ -x "$f" ] || die "$f is missing; install it: apt-get install etcd-server etcd-client"
done
[ -x /usr/sbin/dnsmasq ] || die "/usr/sbin/dnsmasq is missing; install it: apt-get install dnsmasq-base"
# grep reads the whole list: busybox writes one line per write(2), and a
# `grep -q` that exits at the match would make its later writes fail with
# SIGPIPE, which pipefail turns into this check failing.
{ [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -x nslookup >/dev/null; } ||
	die "a static /bin/busybox (for the DNS image's entrypoint) is missing; install it: apt-get install busybox-static"
if file -L /bin/busybox 2>/dev/null | grep -q 'dynamically linked'; then
	die "/bin/busybox is dynamically linked; install the static one: apt-get install busybox-static"
fi
for t in ldd tar; do
	command -v "$t" >/dev/null || die "$t is needed to assemble the images but is not installed"
done
command -v "$DOCKER" >/dev/null || die "no \`$DOCKER\` command; install Docker (docker.io) first"
if ! timeout 20 "$DOCKER" info >/dev/null 2>&1; then
	die "the Docker engine does not answer (\`$DOCKER info\` failed); start it (systemctl start docker) or check DOCKER_HOST and your permissions"
fi

# --- rootfs helpers --------------------------------------------------------
# shellcheck source=rootfs.sh
. "$here/rootfs.sh"

# base_rootfs ROOT: directories and /etc files both images share.
base_rootfs() {
	local root=$1
	mkdir -p "$root"/{etc,tmp,usr/bin,usr/sbin,var/lib,run}
	chmod 1777 "$root/tmp"
	# Docker bind-mounts /etc/hosts, /etc/hostname and /etc/resolv.conf.
	printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
}

# make_tar ROOT TAR: a reproducible-ish tar of ROOT (numeric owners kept).
make_tar() {
	tar --numeric-owner --sort=name --mtime=@0 -C "$1" -cf "$2" .
}

rm -rf "$work"
mkdir -p "$work/agent/rootfs" "$work/dns/rootfs"

# --- zooinit:local ---------------------------------------------------------
root=$work/agent/rootfs
base_rootfs "$root"
copy_file "$top/build/zooinit" "$root" /usr/bin/zooinit
if command -v strip >/dev/null; then
	strip --strip-unneeded "$root/usr/bin/zooinit"
fi
copy_file /usr/bin/etcd "$root"
copy_file /usr/bin/etcdctl "$root"
for b in "$top/build/zooinit" /usr/bin/etcd /usr/bin/etcdctl; do
	copy_libs "$b" "$root"
done
cat >"$root/etc/passwd" <<EOF
root:x:0:0:root:/root:/nonexistent
zooinit:x:$AGENT_UID:$AGENT_UID:zooinit agent:/var/lib/zooinit:/nonexistent
nobody:x:65534:65534:nobody:/nonexistent:/nonexistent
EOF
cat >"$root/etc/group" <<EOF
root:x:0:
zooinit:x:$AGENT_UID:
nogroup:x:65534:
EOF
# The data volume is mounted here; a fresh volume takes this owner.
mkdir -p "$root/var/lib/zooinit"
chown "$AGENT_UID:$AGENT_UID" "$root/var/lib/zooinit"
chmod 0700 "$root/var/lib/zooinit"
make_tar "$root" "$work/agent/rootfs.tar"
rm -rf "$root" # keep the build context to the tar and the Dockerfile

cat >"$work/agent/Dockerfile" <<EOF
FROM scratch
ADD rootfs.tar /
LABEL org.opencontainers.image.title="zooinit" \\
      org.opencontainers.image.description="zooinit bootstrap agent with Debian's etcd $(/usr/bin/etcd --version 2>/dev/null | awk '/^etcd Version/{print $3}')"
ENV PATH=/usr/bin ETCDCTL_API=3
USER $AGENT_UID:$AGENT_UID
WORKDIR /var/lib/zooinit
# zooinit is PID 1: it reaps orphans and turns SIGTERM into a clean etcd stop.
ENTRYPOINT ["/usr/bin/zooinit"]
CMD ["help"]
EOF

# --- zooinit-dns:local -----------------------------------------------------
root=$work/dns/rootfs
base_rootfs "$root"
copy_file /usr/sbin/dnsmasq "$root"
copy_libs /usr/sbin/dnsmasq "$root"
mkdir -p "$root/bin"
copy_file /bin/busybox "$root" /bin/busybox
for applet in sh awk cat sleep date nslookup; do
	ln -s busybox "$root/bin/$applet"
done
copy_file "$here/dns-entrypoint.sh" "$root" /usr/sbin/zl-dns-entrypoint
chmod 0755 "$root/usr/sbin/zl-dns-entrypoint"
# dnsmasq binds port 53 as root, then drops to nobody (group dip, if any).
cat >"$root/etc/passwd" <<EOF
root:x:0:0:root:/root:/nonexistent
nobody:x:65534:65534:nobody:/nonexistent:/nonexistent
EOF
cat >"$root/etc/group" <<EOF
root:x:0:
dip:x:30:
nogroup:x:65534:
EOF
make_tar "$root" "$work/dns/rootfs.tar"
rm -rf "$root"

cat >"$work/dns/Dockerfile" <<'EOF'
FROM scratch
ADD rootfs.tar /
LABEL org.opencontainers.image.title="zooinit-dns" \
      org.opencontainers.image.description="dnsmasq serving a zone built from Docker-assigned addresses, for the zooinit rig"
ENV PATH=/usr/sbin:/usr/bin:/bin
ENTRYPOINT ["/usr/sbin/zl-dns-entrypoint"]
EOF

# --- docker build ----------------------------------------------------------
# The legacy builder needs no buildx plugin and no registry for FROM scratch;
# DOCKER_BUILDKIT=1 in the environment selects BuildKit instead.
build() { # TAG DIR
	echo "docker/build.sh: building $1"
	if ! DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0} "$DOCKER" build -q -t "$1" "$2" >"$work/build.log" 2>&1; then
		cat "$work/build.log" >&2
		die "docker build of $1 failed"
	fi
}
build "$IMAGE" "$work/agent"
build "$DNS_IMAGE" "$work/dns"

# Old images of these tags are left dangling by a rebuild; drop those of
# ours (by label) so that running this again does not pile them up.
"$DOCKER" image prune -f --filter "label=org.opencontainers.image.title=zooinit" >/dev/null 2>&1 || true
"$DOCKER" image prune -f --filter "label=org.opencontainers.image.title=zooinit-dns" >/dev/null 2>&1 || true

for img in "$IMAGE" "$DNS_IMAGE"; do
	bytes=$("$DOCKER" image inspect -f '{{.Size}}' "$img")
	printf 'docker/build.sh: %-20s %6.1f MB (%s bytes)\n' "$img" \
		"$(awk -v b="$bytes" 'BEGIN{print b/1000000}')" "$bytes"
done
