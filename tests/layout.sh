#!/bin/bash
# Checks the layout rules of docs/layout.md on the tree: layers include only
# downward, no source file or script over MAX_LINES lines (the tests, fuzzers
# and benchmark too), no function over MAX_FUNC lines. Prints one line per breach and
# "layout: N problems" last; exits 1 when there is any.
set -u
cd "$(dirname "$0")/.."
MAX_LINES=1000
MAX_FUNC=120
bad=0

# The layers, lowest first; a file may include headers of its own layer or
# of the layers below (config may use resolver's name checks).
rank() {
	case $1 in
	lib/*) echo 0 ;;
	resolver/*) echo 1 ;;
	etcd/*) echo 1 ;;
	pki/*) echo 1 ;;
	config/*) echo 2 ;;
	services/*) echo 3 ;;
	agent/*) echo 4 ;;
	*) echo 9 ;;
	esac
}

problem() {
	echo "layout: $*"
	bad=$((bad + 1))
}

for f in lib/*.[ch] resolver/*.[ch] etcd/*.[ch] pki/*.[ch] config/*.[ch] \
	services/*.[ch] agent/*.[ch]; do
	r=$(rank "$f")
	while IFS= read -r inc; do
		ir=$(rank "$inc")
		if [ "$ir" -gt "$r" ]; then
			problem "$f includes $inc, a layer above it"
		fi
		# resolver, etcd and pki sit side by side: none uses another.
		case $f:$inc in
		resolver/*:etcd/* | etcd/*:resolver/dns.h | pki/*:resolver/* | \
		pki/*:etcd/* | resolver/*:pki/* | etcd/*:pki/*)
			problem "$f includes $inc across the lower floor" ;;
		esac
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
	n=$(wc -l <"$f")
	[ "$n" -le "$MAX_LINES" ] || problem "$f has $n lines (at most $MAX_LINES)"
done

# The tests, fuzzers and scripts have no layers, but the same length.
for f in tests/unit/*.[ch] fuzz/*.[ch] tests/*.sh tests/integ/*.sh \
	bench/*.sh docker/*.sh .ci/run; do
	[ -f "$f" ] || continue
	n=$(wc -l <"$f")
	[ "$n" -le "$MAX_LINES" ] || problem "$f has $n lines (at most $MAX_LINES)"
done

# No include cycle between modules. A module is NAME.c with its NAME.h (and
# a private NAME_int.h / NAME_impl.h); a header without a .c of its own
# only passes on what it includes. tsort names every loop it finds.
incs() { sed -n 's/^#include "\([^"]*\)\.h".*/\1/p' "$1.h" "$1.c" 2>/dev/null; }
modname() {
	local m=${1%_int}
	m=${m%_impl}
	echo "$m"
}
for f in lib/*.c resolver/*.c etcd/*.c pki/*.c config/*.c services/*.c agent/*.c; do
	m=$(modname "${f%.c}")
	for inc in $(incs "${f%.c}"); do
		if [ -f "$inc.c" ]; then
			echo "$m $(modname "$inc")"
		elif [ "$(modname "$inc")" = "$inc" ]; then
			for inc2 in $(incs "$inc"); do
				[ -f "$inc2.c" ] && echo "$m $(modname "$inc2")"
			done
		fi
	done
done | awk '$1 != $2' | tsort 2>&1 >/dev/null |
	grep -v '^tsort: -: input contains a loop:' |
	sed 's/^tsort: /layout: include cycle through /' >"${TMPDIR:-/tmp}/layout.$$"
if [ -s "${TMPDIR:-/tmp}/layout.$$" ]; then
	cat "${TMPDIR:-/tmp}/layout.$$"
	bad=$((bad + 1))
fi

# Function bodies: from a line that starts a definition at column 0 to the
# closing brace at column 0 (the style of this tree).
for f in lib/*.c resolver/*.c etcd/*.c pki/*.c config/*.c services/*.c agent/*.c \
	tests/unit/*.[ch] fuzz/*.[ch]; do
	awk -v max="$MAX_FUNC" -v file="$f" '
		/^[a-z_][a-z0-9_]*\(/ { name = $0; sub(/\(.*/, "", name); start = NR }
		/^\{/ { if (start) open = NR }
		/^\}/ { if (open && NR - open - 1 > max)
				printf "layout: %s: %s() is %d lines (at most %d)\n",
				    file, name, NR - open - 1, max
			open = 0; start = 0 }
	' "$f"
done >"${TMPDIR:-/tmp}/layout.$$"
if [ -s "${TMPDIR:-/tmp}/layout.$$" ]; then
	cat "${TMPDIR:-/tmp}/layout.$$"
	bad=$((bad + $(wc -l <"${TMPDIR:-/tmp}/layout.$$")))
fi
rm -f "${TMPDIR:-/tmp}/layout.$$"

echo "layout: $bad problems"
[ "$bad" -eq 0 ]
