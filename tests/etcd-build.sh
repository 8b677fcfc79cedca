#!/bin/bash
# Builds etcd, etcdctl and (3.5+) etcdutl of the given versions from the Go
# module proxy into a cache directory, for the version matrix
# (docs/testing.md). What is already built is skipped.
#
# usage: tests/etcd-build.sh VERSION...      (e.g. 3.5.21 3.6.16 3.7.3)
# env:   ETCD_CACHE  where to put them (default /var/cache/zooinit/etcd);
#                    each version lands in $ETCD_CACHE/VERSION/{etcd,etcdctl,etcdutl}
#
# `go install go.etcd.io/etcd/server/v3@vX` refuses etcd's modules (their
# go.mod has replace directives), so each tool is a throwaway main module
# that calls the tool's own entry point. Prints the directory of each
# version on stdout; progress on stderr. Needs go (Debian's golang-go or
# /usr/local/go).
set -euo pipefail

cache=${ETCD_CACHE:-/var/cache/zooinit/etcd}
PATH=$PATH:/usr/local/go/bin
if ! command -v go >/dev/null; then
	echo "etcd-build: go is not installed (apt-get install golang-go)" >&2
	exit 2
fi
[ $# -gt 0 ] || { echo "usage: $0 VERSION..." >&2; exit 2; }

# build DIR NAME MODULE IMPORT CALL
build() {
	local out=$1 name=$2 module=$3 import=$4 call=$5 ver=$6 src
	[ -x "$out/$name" ] && return 0
	src=$(mktemp -d)
	cat >"$src/main.go" <<GO
package main

import (
	"os"

	tool "$import"
)

func main() {
	_ = os.Args
	$call
}
GO
	echo "etcd-build: $name $ver" >&2
	(
		cd "$src"
		go mod init zooinit.local/$name >/dev/null 2>&1
		go get "$module@v$ver" >/dev/null 2>&1
		go mod tidy >/dev/null 2>&1
		CGO_ENABLED=0 go build -trimpath -o "$out/$name.tmp" .
	)
	mv "$out/$name.tmp" "$out/$name"
	rm -rf "$src"
}

# build_main DIR NAME MODULE VERSION: a module whose root is itself a main
# package (etcdutl) builds from a throwaway module that requires it.
build_main() {
	local out=$1 name=$2 module=$3 ver=$4 src
	[ -x "$out/$name" ] && return 0
	src=$(mktemp -d)
	echo "etcd-build: $name $ver" >&2
	(
		cd "$src"
		go mod init zooinit.local/$name >/dev/null 2>&1
		printf 'package main\n\nimport _ "%s"\n' "$module" >tools.go
		go get "$module@v$ver" >/dev/null 2>&1
		go mod tidy >/dev/null 2>&1 || true
		CGO_ENABLED=0 go build -trimpath -o "$out/$name.tmp" "$module"
	)
	mv "$out/$name.tmp" "$out/$name"
	rm -rf "$src"
}

for v in "$@"; do
	case $v in
	3.[5-9].* | 3.[1-9][0-9].*) ;;
	*) echo "etcd-build: $v: only 3.5 and later build this way" >&2; exit 2 ;;
	esac
	d=$cache/$v
	mkdir -p "$d"
	build "$d" etcd go.etcd.io/etcd/server/v3 \
		go.etcd.io/etcd/server/v3/etcdmain 'tool.Main(os.Args)' "$v"
	build "$d" etcdctl go.etcd.io/etcd/etcdctl/v3 \
		go.etcd.io/etcd/etcdctl/v3/ctlv3 'tool.MustStart()' "$v"
	build_main "$d" etcdutl go.etcd.io/etcd/etcdutl/v3 "$v"
	# sed reads to the end: `head -1` exits first and, under pipefail, the
	# SIGPIPE etcd then gets fails the build (seen with 3.7.3).
	"$d/etcd" --version | sed -n 1p >&2
	echo "$d"
done
