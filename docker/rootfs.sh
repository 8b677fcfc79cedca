# shellcheck shell=bash
# docker/rootfs.sh — what build.sh and build-zk.sh share to assemble a root
# file system for a FROM scratch image. Sourced; the caller defines die().
#
# A caller may define, before calling copy_libs:
#   rootfs_skip PATH         true: PATH is in the image already (not copied)
#   rootfs_missing_ok LINE   true: ldd's "=> not found" LINE is expected

# copy_file SRC ROOT [DEST]: copy SRC (symlinks followed) to ROOT/DEST
# (default: the same path), creating parent directories.
copy_file() {
	local src=$1 root=$2 dest=${3:-$1}
	mkdir -p "$root$(dirname "$dest")"
	cp -L --preserve=mode "$src" "$root$dest"
}

# copy_libs BINARY ROOT: every shared object ldd lists for BINARY, at the
# path ldd gives (so the loader finds it in its default directories), and
# the dynamic loader itself at the path the binary names as interpreter.
copy_libs() {
	local bin=$1 root=$2 out line path
	out=$(ldd "$bin" 2>&1) || {
		# a static binary: "not a dynamic executable"
		case $out in *"not a dynamic executable"*) return 0 ;; esac
		die "ldd $bin failed: $out"
	}
	while read -r line; do
		case $line in
		*"=> not found"*)
			declare -F rootfs_missing_ok >/dev/null &&
				rootfs_missing_ok "$line" && continue
			die "ldd $bin: a library is missing: $line"
			;;
		*"=> /"*) path=${line#*=> } ;;
		/*) path=$line ;;
		*) continue ;; # linux-vdso.so.1 and the like
		esac
		path=${path%% (*}
		declare -F rootfs_skip >/dev/null && rootfs_skip "$path" && continue
		[ -e "$root$path" ] || copy_file "$path" "$root"
	done <<<"$out"
}
