# tests/harness/checks.sh: the shell suites' checks and prologue (every
# tests/system/*.sh sources it, from the top of the tree, in bash).  One
# line a check, "ok   - what" or "FAIL - what"; the counts in $passed and
# $failed.  expect_bytes writes $T/expected: the sourcing script sets T
# before it checks.

passed=${passed:-0}
failed=${failed:-0}

ok() {
	passed=$((passed + 1))
	echo "ok   - $1"
}

# not_ok "what": and the logs named in $SHOW_LOGS, for a failure.
not_ok() {
	local f
	failed=$((failed + 1))
	echo "FAIL - $1"
	[ -n "${SHOW_LOGS:-}" ] && sleep 0.1	# logs written in batches
	for f in ${SHOW_LOGS:-}; do
		echo "       log $(basename "$f"):"
		tail -n 25 "$f" 2>/dev/null | cut -c1-200 | sed 's/^/       | /'
	done
}

# check "what" command...: passes when the command succeeds.
check() {
	local what=$1
	shift
	if "$@"; then
		ok "$what"
		return 0
	fi
	not_ok "$what"
	return 1
}

skip() {
	echo "SKIP - $1"
}

# skip_all "why": the whole script skipped, nothing counted.
skip_all() {
	echo "SKIP - $1"
	echo "0 passed, 0 failed"
	exit 0
}

# bail "what": a failure that ends the script before its checks.
bail() {
	echo "FAIL - $1"
	echo "0 passed, 1 failed"
	exit 1
}

# fingerd_found: $FINGERD (default ./fingerd) as an absolute path.
fingerd_found() {
	FINGERD=$(realpath -e "${FINGERD:-./fingerd}" 2>/dev/null) ||
	    bail "${FINGERD:-./fingerd} does not exist: run make first"
}

# needs_root "what for": skips the whole script unless run as root.
needs_root() {
	[ "$(id -u)" -eq 0 ] ||
	    skip_all "tests/system/$(basename "$0") needs root ($1)"
}

# in_netns VAR seconds [NAME=value...]: the script again in a network
# namespace of its own, at most that long, with VAR=1 (and the NAMEs)
# in its environment; there, brings loopback up.
in_netns() {
	local var=$1 seconds=$2
	shift 2
	if [ -z "${!var:-}" ]; then
		timeout 10 unshare -n true ||
		    bail "unshare -n: cannot create a network namespace"
		exec timeout -k 10 "$seconds" unshare -n env "$var=1" \
		    FINGERD="$FINGERD" "$@" bash "$0"
	fi
	timeout 5 ip link set lo up || bail "ip link set lo up"
}

# scratch name: the counts at 0 and T, a directory of the script's own
# in /tmp that nobody may write to but anybody may cross.
scratch() {
	passed=0
	failed=0
	T=$(mktemp -d "/tmp/fingerd-$1.XXXXXX") || bail "mktemp -d"
	chmod 755 "$T"
}

# wait_exit pid seconds: the exit status in $STATUS; 1 when still running.
# A process waited for leaves DAEMONS (the sourcing script's array of the
# daemons it started): its pid may be given to another.
wait_exit() {
	local i
	if ! wait_until "$2" eval '! alive '"$1"; then
		STATUS=none
		return 1
	fi
	wait "$1"
	STATUS=$?
	for i in "${!DAEMONS[@]}"; do
		[ "${DAEMONS[$i]}" = "$1" ] && unset 'DAEMONS[i]'
	done
	return 0
}

# expect_bytes "what" file 'expected bytes' (printf %b escapes).
expect_bytes() {
	printf '%b' "$3" >"$T/expected"
	if cmp -s "$2" "$T/expected"; then
		ok "$1"
		return 0
	fi
	not_ok "$1"
	echo "       expected:"; od -c "$T/expected" | head -12 | sed 's/^/       /'
	echo "       got:"; od -c "$2" | head -12 | sed 's/^/       /'
	return 1
}

alive() {
	local state
	state=$(awk '{ print $3 }' /proc/"$1"/stat 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# wait_until seconds command...: polls every 50 ms.
wait_until() {
	local n=$(($1 * 20))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}

log_text() {	# log_text file: its lines without the time they begin with
	sed -E 's/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z //' \
	    "$1" 2>/dev/null
}

log_has() {	# log_has file ERE [count]
	[ "$(log_text "$1" | grep -cE -- "$2")" -ge "${3:-1}" ]
}

# build_deb dir: the Debian package of this tree (from $TOP), built by
# dpkg-buildpackage -us -uc -b in dir (15 to 30 s): dir/*.deb and
# dir/build.log.
build_deb() {
	local version src
	version=$(sed -n '1s/.*(\(.*\)).*/\1/p' "$TOP/debian/changelog")
	src=$1/fingerd-$version
	mkdir -p "$src"
	# A copy: dpkg-buildpackage cleans the tree and writes to ..
	tar -C "$TOP" --exclude=./.git --exclude=./build \
	    --exclude=./build-asan --exclude=./fingerd --exclude='./*.deb' \
	    --exclude=./debian/.debhelper --exclude=./debian/fingerd-uring \
	    -cf - . | tar -C "$src" -xf -
	(cd "$src" && timeout 180 dpkg-buildpackage -us -uc -b) \
	    >"$1/build.log" 2>&1
}
