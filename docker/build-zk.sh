#!/bin/bash
# Builds zooinit-zk:local, the agent image of the ZooKeeper example
# (docker/compose-zk.yml), without a registry:
#
#   zooinit-zk:local   zooinit:local (zooinit, etcd, etcdctl) + Debian's
#                      OpenJDK 17 runtime + Debian's ZooKeeper jars +
#                      /etc/zooinit/zooinit.conf (docker/zooinit-zk.conf)
#
# It runs docker/build.sh first (zooinit:local and zooinit-dns:local, which
# the example also uses, unchanged), then adds one layer on top of
# zooinit:local: `FROM zooinit:local` + `ADD rootfs.tar /`, where the tar
# is assembled here from files on this machine. Nothing is pulled.
#
# The layer holds:
#   - the JRE: /usr/lib/jvm/java-17-openjdk-amd64 without the JDK parts
#     (jmods, include, man, docs, src.zip, ct.sym, the tools in bin/ other
#     than java and keytool) and without the GUI libraries (AWT/X11, sound,
#     splash screen); symlinks resolved (several point into
#     /etc/java-17-openjdk); the shared libraries `ldd` names for bin/java
#     and lib/**/*.so; /usr/bin/java -> the JRE's bin/java;
#   - /usr/share/java/zookeeper.jar, every jar its manifest's Class-Path
#     names (transitively, resolved to real files) and slf4j-simple.jar;
#   - /etc/zooinit/zooinit.conf.
#
# usage: docker/build-zk.sh         (from anywhere; run `make` first)
# env:   DOCKER=docker  ZI_IMAGE=zooinit:local  ZI_ZK_IMAGE=zooinit-zk:local
#        ZI_NO_BASE=1   do not run docker/build.sh (zooinit:local must exist)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
DOCKER=${DOCKER:-docker}
BASE_IMAGE=${ZI_IMAGE:-zooinit:local}
IMAGE=${ZI_ZK_IMAGE:-zooinit-zk:local}
work=$top/build/docker-zk
root=$work/rootfs

die() {
	echo "docker/build-zk.sh: $*" >&2
	exit 1
}

# --- preconditions -----------------------------------------------------------
command -v java >/dev/null ||
	die "no java in PATH; install it: apt-get install openjdk-17-jre-headless"
java_bin=$(readlink -f "$(command -v java)")
jre=$(dirname "$(dirname "$java_bin")")
[ -f "$jre/lib/modules" ] ||
	die "$java_bin is not from a modular JRE ($jre/lib/modules is missing); install openjdk-17-jre-headless"
[ -f /usr/share/java/zookeeper.jar ] ||
	die "/usr/share/java/zookeeper.jar is missing; install it: apt-get install zookeeper"
[ -f /usr/share/java/slf4j-simple.jar ] ||
	die "/usr/share/java/slf4j-simple.jar is missing; install it: apt-get install libslf4j-java"
for t in ldd tar unzip; do
	command -v "$t" >/dev/null || die "$t is needed to assemble the image but is not installed"
done
[ -f "$here/zooinit-zk.conf" ] || die "$here/zooinit-zk.conf is missing"

if [ "${ZI_NO_BASE:-}" = 1 ]; then
	"$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1 ||
		die "ZI_NO_BASE=1 but $BASE_IMAGE does not exist; run docker/build.sh"
else
	"$here/build.sh" || die "docker/build.sh failed"
fi

# --- rootfs helpers (shared with build.sh) -----------------------------------
# shellcheck source=rootfs.sh
. "$here/rootfs.sh"

# The JRE's own libraries (libjvm.so, libjli.so, ...) are found through its
# RUNPATH and are in the tree already; libc, libm, ... are in the base
# image's layer.
rootfs_missing_ok() {
	case $1 in
	*libjvm.so* | *libjava.so* | *libjli.so* | *libnet.so* | *libnio.so*) return 0 ;;
	esac
	return 1
}
rootfs_skip() {
	case $1 in "$jre"/*) return 0 ;; esac
	[ -n "${in_base[$1]:-}" ]
}

# class_path JAR: the jars JAR's manifest names in Class-Path, one per
# line, as absolute paths (the manifest wraps lines at 72 bytes; a
# continuation line starts with one space).
class_path() {
	local jar=$1 p
	unzip -p "$jar" META-INF/MANIFEST.MF 2>/dev/null | tr -d '\r' | awk '
		/^Class-Path:/ { cp = substr($0, 13); inside = 1; next }
		inside && /^ / { cp = cp substr($0, 2); next }
		{ inside = 0 }
		END { print cp }' | tr ' ' '\n' | while read -r p; do
		[ -n "$p" ] || continue
		case $p in
		/*) echo "$p" ;;
		file:/*) echo "${p#file:}" ;;
		*) echo "$(dirname "$jar")/$p" ;;
		esac
	done
}

rm -rf "$work"
mkdir -p "$root"

# The files of the base image, from build.sh's tar, so that this layer
# does not carry a second copy of libc and the like.
declare -A in_base=()
base_tar=$top/build/docker/agent/rootfs.tar
[ -f "$base_tar" ] ||
	die "$base_tar is missing; run docker/build.sh (or drop ZI_NO_BASE=1)"
while read -r f; do
	in_base[${f#.}]=1
done < <(tar -tf "$base_tar")

# --- the JRE -----------------------------------------------------------------
# The tree with symlinks resolved, less what a headless server never loads.
echo "docker/build-zk.sh: copying the JRE from $jre"
mkdir -p "$root$jre"
(cd "$jre" && find -L . \( -path ./jmods -o -path ./include -o -path ./man \
	-o -path ./docs -o -path ./lib/src.zip -o -path ./lib/ct.sym \
	-o -path ./demo -o -path ./sample \) -prune -o -type f -print) |
	while read -r f; do
		case $f in
		./bin/*) case $f in ./bin/java | ./bin/keytool) ;; *) continue ;; esac ;;
		# GUI and sound: need X11, ALSA, freetype; never loaded headless
		./lib/libawt_xawt.so | ./lib/libsplashscreen.so | ./lib/libjsound.so | \
			./lib/libjawt.so | ./lib/libatk-wrapper.so | ./lib/libfontmanager.so | \
			./lib/liblcms.so | ./lib/libjavajpeg.so | ./lib/libmlib_image.so | \
			./lib/psfont*) continue ;;
		# the class-data archive for heaps over 32 GB (no compressed oops)
		./lib/server/classes_nocoops.jsa) continue ;;
		esac
		copy_file "$jre/${f#./}" "$root" "$jre/${f#./}"
	done
[ -x "$root$jre/bin/java" ] || die "copying the JRE left no $jre/bin/java"
copy_libs "$jre/bin/java" "$root"
while read -r so; do
	copy_libs "$so" "$root"
done < <(find "$root$jre/lib" -name '*.so' | sed "s,^$root,,")
mkdir -p "$root/usr/bin"
ln -s "$jre/bin/java" "$root/usr/bin/java"

# --- ZooKeeper and its jars ----------------------------------------------------
declare -A seen=()
queue=(/usr/share/java/zookeeper.jar /usr/share/java/slf4j-simple.jar)
while [ "${#queue[@]}" -gt 0 ]; do
	j=${queue[0]}
	queue=("${queue[@]:1}")
	[ -z "${seen[$j]:-}" ] || continue
	seen[$j]=1
	if [ ! -e "$j" ]; then
		# The JVM passes over a missing Class-Path entry, as on this
		# machine (Debian's zookeeper names jline.jar, for the interactive
		# shell only, without depending on it).
		echo "docker/build-zk.sh: note: $j (named in a Class-Path) is not installed; left out" >&2
		continue
	fi
	copy_file "$j" "$root" # -L: the real file, under the name the manifest uses
	mapfile -t more < <(class_path "$j")
	queue+=("${more[@]}")
done
echo "docker/build-zk.sh: ${#seen[@]} jars"

# --- zooinit's configuration ---------------------------------------------------------
copy_file "$here/zooinit-zk.conf" "$root" /etc/zooinit/zooinit.conf
chmod 0644 "$root/etc/zooinit/zooinit.conf"

tar --numeric-owner --sort=name --mtime=@0 -C "$root" -cf "$work/rootfs.tar" .
rm -rf "$root"

cat >"$work/Dockerfile" <<EOF
FROM $BASE_IMAGE
ADD rootfs.tar /
LABEL org.opencontainers.image.title="zooinit-zk" \\
      org.opencontainers.image.description="zooinit with Debian's etcd, OpenJDK $("$java_bin" -XshowSettings:properties -version 2>&1 | awk '/java.runtime.version/{print $3}') and ZooKeeper $(dpkg-query -W -f '${Version}' libzookeeper-java 2>/dev/null || echo '?')"
ENV JAVA_HOME=$jre
CMD ["bootstrap", "-f", "/etc/zooinit/zooinit.conf"]
EOF

echo "docker/build-zk.sh: building $IMAGE"
if ! DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0} "$DOCKER" build -q -t "$IMAGE" "$work" >"$work/build.log" 2>&1; then
	cat "$work/build.log" >&2
	die "docker build of $IMAGE failed"
fi
"$DOCKER" image prune -f --filter "label=org.opencontainers.image.title=zooinit-zk" >/dev/null 2>&1 || true

bytes=$("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE")
printf 'docker/build-zk.sh: %-20s %6.1f MB (%s bytes)\n' "$IMAGE" \
	"$(awk -v b="$bytes" 'BEGIN{print b/1000000}')" "$bytes"
