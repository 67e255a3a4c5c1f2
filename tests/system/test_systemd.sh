#!/bin/bash
# tests/system/test_systemd.sh: the Debian package under a real systemd.
#
# A Debian 12 tree (debootstrap, cached between runs) boots with systemd
# as its PID 1 in systemd-nspawn; the package built from this tree is
# installed in it with dpkg -i, and inside the container:
#
#   fingerd.socket is enabled and active; a query on port 79 starts
#   fingerd.service and gets the exact bytes of a member's plan
#   the service holds no capability and runs with no_new_privs
#   systemctl reload fingerd: a member added before it is served
#   a worker killed with SIGKILL is replaced, and the next query answered
#   journalctl -u fingerd holds the exchange lines
#   Landlock works there (nspawn's own filter is told to allow it)
#   systemd-analyze security fingerd.service: exposure at most 1.0
#   -E epoll (a drop-in) serves under the unit's filter too
#   -M as fingerd.8 says to set it under the unit (a drop-in with
#   RuntimeDirectory=): the metrics file is written, 0644, and counts
#   the query made
#
# The container has a network namespace of its own (--private-network:
# loopback only), so port 79 inside is not the machine's.  Its root is
# the cached tree under a tmpfs overlay (--volatile=overlay): what the
# test installs is thrown away and the cache stays as debootstrap made
# it.  The script runs in a mount namespace of its own, where /run is a
# tmpfs: systemd-nspawn's files under /run stay there.  The container is
# always stopped at the end (SIGTERM to systemd-nspawn halts it, SIGKILL
# after 15 s), and every wait is bounded, the whole run by 900 s.
#
# Run as root from anywhere (make check does): tests/system/test_systemd.sh.
# Environment:
#
#   FINGERD_SYSTEMD_DEB=build   build the .deb from a copy of this tree
#                               (default; 15 to 30 s)
#                      =path    install that one
#   FINGERD_SYSTEMD_CACHE=dir   where the tree is kept (default
#                               /var/cache/fingerd-tests; the tree is
#                               dir/bookworm-nspawn, made when missing)
#   FINGERD_SYSTEMD_MIRROR=url  the Debian mirror for debootstrap
#                               (default http://deb.debian.org/debian)
#   SYSTEMD_TRACE=1             trace every command, with a timestamp
#
# Needs (Debian): systemd-container debootstrap util-linux, and for the
# package debhelper and dpkg-dev.  Without root or systemd-nspawn, or
# when debootstrap cannot make the tree, it prints "SKIP - why" and
# counts nothing.  Prints one line per check and ends with "N passed,
# N failed"; the exit status is 1 when anything failed.  It takes 15 to
# 60 s with the tree cached (building the package is most of it); making
# the tree adds 45 to 120 s, as the mirror goes.

set -u
[ -n "${SYSTEMD_TRACE:-}" ] && { PS4='+ $EPOCHREALTIME '; set -x; }

cd "$(dirname "$0")/../.." || exit 1
TOP=$(pwd)
DEB_MODE=${FINGERD_SYSTEMD_DEB:-build}
CACHE=${FINGERD_SYSTEMD_CACHE:-/var/cache/fingerd-tests}
TREE=$CACHE/bookworm-nspawn
MIRROR=${FINGERD_SYSTEMD_MIRROR:-http://deb.debian.org/debian}
# What the tree holds: systemd to boot, and the package's dependencies
# (the container has no network for apt).  A change here makes it again.
DEBOOTSTRAP_ARGS="--variant=minbase --include=systemd,systemd-sysv,dbus,\
adduser,procps,liburing2,libcap2,libseccomp2 bookworm"

. tests/harness/checks.sh
needs_root "systemd-nspawn"
command -v systemd-nspawn >/dev/null || skip_all "tests/system/test_systemd.sh: \
systemd-nspawn is not installed (apt-get install systemd-container)"

# Everything below runs in a mount namespace of its own, bounded.
if [ -z "${FINGERD_SYSTEMD_NS:-}" ]; then
	exec timeout -k 10 900 unshare -m --propagation private \
	    env FINGERD_SYSTEMD_NS=1 bash "$0" "$@"
fi
mount -t tmpfs -o mode=755 tmpfs /run ||
    bail "a tmpfs on /run in a mount namespace"

scratch systemd
NSPAWN=		# timeout, systemd-nspawn's parent: a TERM it passes on
NSPAWN_PID=
LEADER=

stop_container() {
	[ -n "$NSPAWN" ] || return 0
	kill -TERM "$NSPAWN" 2>/dev/null
	wait_until 15 eval '! alive '"$NSPAWN" || kill -KILL "$NSPAWN" 2>/dev/null
	wait "$NSPAWN" 2>/dev/null
	NSPAWN=
}

cleanup() {
	trap - EXIT INT TERM
	stop_container
	rm -rf "$T"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 1' INT TERM

# The tree, made once (a lock: two runs do not make it together).
make_tree() {
	mkdir -p "$CACHE" || return 1
	exec 9>"$TREE.lock"
	flock -w 600 9 || return 1
	if [ -d "$TREE" ] && [ "$(cat "$TREE.stamp" 2>/dev/null)" = \
	    "$DEBOOTSTRAP_ARGS $MIRROR" ]; then
		exec 9>&-
		return 0
	fi
	command -v debootstrap >/dev/null || {
		echo "debootstrap is not installed" >"$T/debootstrap.log"
		exec 9>&-
		return 1
	}
	echo "# making the tree $TREE (debootstrap, 45 to 120 s)"
	rm -rf "$TREE.new" "$TREE" "$TREE.stamp"
	# shellcheck disable=SC2086
	if ! timeout 600 debootstrap $DEBOOTSTRAP_ARGS "$TREE.new" "$MIRROR" \
	    >"$T/debootstrap.log" 2>&1; then
		rm -rf "$TREE.new"
		exec 9>&-
		return 1
	fi
	mv "$TREE.new" "$TREE" &&
	    echo "$DEBOOTSTRAP_ARGS $MIRROR" >"$TREE.stamp"
	exec 9>&-
}

# in_ct command...: run in the container's namespaces, with its PATH.
in_ct() {
	timeout 30 nsenter -t "$LEADER" -a env -i \
	    PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}

# query name > reply: one exchange on port 79 inside the container.
query() {
	in_ct bash -c 'exec 3<>/dev/tcp/127.0.0.1/79 &&
	    printf "%s\r\n" "$1" >&3 && timeout 5 cat <&3' query "$1"
}

booted() {
	local state
	state=$(in_ct systemctl is-system-running 2>/dev/null)
	[ "$state" = running ] || [ "$state" = degraded ]
}

# The booted container's PID 1, as the host sees it.
leader() {
	local n p
	n=$(pgrep -P "$NSPAWN" -x systemd-nspawn) || return 1
	for p in $(pgrep -P "$n"); do
		[ "$(cat /proc/"$p"/comm 2>/dev/null)" = systemd ] &&
		    { echo "$p"; return 0; }
	done
	return 1
}

start_container() {
	local began=$SECONDS
	# Landlock is not in systemd-nspawn's allow-list (v252): named, so
	# that fingerd's sandbox is whole, as on a real machine.
	timeout -k 10 600 systemd-nspawn -q -D "$TREE" --volatile=overlay \
	    --private-network --register=no --keep-unit \
	    --machine="fingerd-test-$$" --bind-ro="$T/in:/fingerd-test" \
	    --system-call-filter='landlock_create_ruleset landlock_add_rule landlock_restrict_self' \
	    --console=read-only --boot </dev/null >"$T/boot.log" 2>&1 &
	NSPAWN=$!
	SHOW_LOGS=$T/boot.log
	if ! wait_until 30 eval 'LEADER=$(leader) &&
	    NSPAWN_PID=$(pgrep -P $NSPAWN -x systemd-nspawn)'; then
		not_ok "systemd-nspawn --boot starts systemd"
		return 1
	fi
	if ! wait_until 60 booted; then
		not_ok "the container boots (systemctl is-system-running: $(in_ct systemctl is-system-running 2>&1))"
		return 1
	fi
	ok "the container boots with systemd as PID 1 ($((SECONDS - began)) s)"
	SHOW_LOGS=
}

# Field of /proc/pid/status inside the container.
ct_status() {	# ct_status pid field
	in_ct awk -v f="$2:" '$1 == f { $1 = ""; print substr($0, 2) }' \
	    "/proc/$1/status" 2>/dev/null
}

# The worker processes of the service's supervisor.
workers() {
	local main
	main=$(in_ct systemctl show -P MainPID fingerd.service)
	# shellcheck disable=SC2046	# one line, the pids and no blank after
	echo $(in_ct cat "/proc/$main/task/$main/children" 2>/dev/null)
}

add_member() {	# add_member name "Full Name" plan
	in_ct bash -c 'set -e
	useradd -m -c "$2" "$1"
	chmod 755 "/home/$1"
	printf "%s\n" "$3" >"/home/$1/.plan"
	chmod 644 "/home/$1/.plan"
	gpasswd -a "$1" finger >/dev/null' add "$@"
}

journal() {
	in_ct journalctl -u fingerd.service --no-pager "$@"
}

test_package() {
	echo "# the package installed in the container (dpkg -i)"
	if ! in_ct env DEBIAN_FRONTEND=noninteractive dpkg -i \
	    /fingerd-test/fingerd-uring.deb >"$T/dpkg.log" 2>&1; then
		SHOW_LOGS=$T/dpkg.log not_ok "dpkg -i fingerd-uring.deb"
		return 1
	fi
	ok "dpkg -i fingerd-uring.deb"
	check "fingerd.socket is enabled" \
	    eval '[ "$(in_ct systemctl is-enabled fingerd.socket)" = enabled ]'
	check "fingerd.socket is active (systemctl is-active)" \
	    eval '[ "$(in_ct systemctl is-active fingerd.socket)" = active ]'
	check "fingerd.service waits for its first connection" \
	    eval '[ "$(in_ct systemctl is-active fingerd.service)" = inactive ]'
}

test_activation() {
	local main
	echo "# socket activation: a query on port 79"
	add_member alice "Alice Liddell" "Down the rabbit hole."
	query alice >"$T/r.alice"
	expect_bytes "a query for alice gets her plan, byte for byte" \
	    "$T/r.alice" \
	    'Login: alice\tName: Alice Liddell\r\nPlan:\r\nDown the rabbit hole.\r\n'
	check "fingerd.service is active after it" \
	    eval '[ "$(in_ct systemctl is-active fingerd.service)" = active ]'
	main=$(in_ct systemctl show -P MainPID fingerd.service)
	check "  as a transient account (DynamicUser=): uid $(ct_status "$main" Uid)" \
	    eval '[ "$(ct_status '"$main"' Uid | awk "{ print \$1 }")" -ge 61184 ]'
	check "  holding no capability, with no_new_privs" eval \
	    '[ "$(ct_status '"$main"' CapPrm)$(ct_status '"$main"' CapEff)$(ct_status '"$main"' CapAmb)$(ct_status '"$main"' NoNewPrivs)" = \
	    "0000000000000000000000000000000000000000000000001" ]'
	journal -o cat >"$T/journal"
	check "  its sandbox is whole (no Landlock warning)" \
	    eval '! grep -q "Landlock is not available" "$T/journal"'
}

test_reload() {
	echo "# systemctl reload fingerd"
	add_member bob "Bob Builder" "Can we fix it?"
	if ! in_ct systemctl reload fingerd.service >"$T/reload.log" 2>&1; then
		SHOW_LOGS=$T/reload.log not_ok "systemctl reload fingerd succeeds"
		return
	fi
	ok "systemctl reload fingerd succeeds"
	check "the journal says it read the group again" wait_until 10 eval \
	    'journal -o cat | grep -qE "^event=reload group=finger members=2 generation=[0-9]+ why=sighup$"'
	query bob >"$T/r.bob"
	expect_bytes "the member added before it is served" "$T/r.bob" \
	    'Login: bob\tName: Bob Builder\r\nPlan:\r\nCan we fix it?\r\n'
}

test_worker_killed() {
	local before
	echo "# a worker killed with SIGKILL"
	before=$(workers)
	if [ -z "$before" ]; then
		not_ok "the service has a worker"
		return
	fi
	in_ct kill -KILL $before
	check "worker $before killed, another takes its place" wait_until 10 \
	    eval '[ -n "$(workers)" ] && [ "$(workers)" != "$before" ]'
	query alice >"$T/r.after"
	expect_bytes "  which answers" "$T/r.after" \
	    'Login: alice\tName: Alice Liddell\r\nPlan:\r\nDown the rabbit hole.\r\n'
	check "fingerd.service stayed active (no restart by systemd)" \
	    eval '[ "$(in_ct systemctl show -P NRestarts fingerd.service)" = 0 ]'
}

test_journal() {
	echo "# journalctl -u fingerd"
	journal -o cat >"$T/journal"
	journal -o short >"$T/journal.short"
	SHOW_LOGS=$T/journal
	# The journal names the program: the lines do not again.
	check "the exchange lines: alice, bob, alice again" log_has \
	    "$T/journal" '^(worker=[0-9]+ )?client=127\.0\.0\.1 query="(alice|bob)" reply=plan end=ok ' 3
	check "the worker's death is logged" log_has "$T/journal" \
	    '^event=worker-exit pid=[0-9]+ signal=SIGKILL '
	check "no line repeats the name the journal shows ($(grep -cE 'fingerd\[[0-9]+\]: ' "$T/journal.short") lines)" \
	    eval "! grep -qE 'fingerd\\[[0-9]+\\]: fingerd' '$T/journal.short'"
	SHOW_LOGS=
	grep -m 1 'query="alice"' "$T/journal.short" | cut -c1-160 | sed 's/^/#   /'
}

test_exposure() {
	local level
	echo "# systemd-analyze security fingerd.service"
	in_ct systemd-analyze security --no-pager fingerd.service \
	    >"$T/security" 2>&1
	level=$(sed -n 's/.*Overall exposure level for fingerd.service: \([0-9.]*\).*/\1/p' \
	    "$T/security")
	check "the exposure is at most 1.0 (got ${level:-none})" \
	    eval '[ -n "$level" ] && awk -v l="$level" "BEGIN { exit !(l <= 1.0) }"'
	grep '✗' "$T/security" | cut -c1-62 | sed 's/ *$//; s/^/#   /'
}

test_epoll() {
	echo "# -E epoll under the same unit (a drop-in)"
	in_ct bash -c 'mkdir -p /run/systemd/system/fingerd.service.d &&
	    printf "[Service]\nExecStart=\nExecStart=/usr/sbin/fingerd -E epoll\n" \
	    >/run/systemd/system/fingerd.service.d/epoll.conf &&
	    systemctl daemon-reload && systemctl restart fingerd.service'
	query alice >"$T/r.epoll"
	expect_bytes "a query for alice gets her plan" "$T/r.epoll" \
	    'Login: alice\tName: Alice Liddell\r\nPlan:\r\nDown the rabbit hole.\r\n'
	check "  from the epoll engine" eval \
	    'journal -o cat | grep -qE "^event=engine engine=epoll why=\"-E epoll\"$"'
}

test_metrics() {
	echo "# -M under the same unit, as fingerd.8 says (a drop-in)"
	in_ct bash -c 'printf "%s\n" "[Service]" "RuntimeDirectory=fingerd" \
	    "RuntimeDirectoryMode=0755" "ExecStart=" \
	    "ExecStart=/usr/sbin/fingerd -M /run/fingerd/fingerd.prom" \
	    >/run/systemd/system/fingerd.service.d/metrics.conf &&
	    systemctl daemon-reload && systemctl restart fingerd.service'
	query alice >"$T/r.metrics"
	expect_bytes "a query for alice gets her plan" "$T/r.metrics" \
	    'Login: alice\tName: Alice Liddell\r\nPlan:\r\nDown the rabbit hole.\r\n'
	in_ct systemctl kill -s USR1 --kill-who=main fingerd.service
	check "the metrics file counts it" wait_until 10 in_ct grep -qx \
	    'fingerd_exchanges_total{reply="plan",end="ok"} 1' \
	    /run/fingerd/fingerd.prom
	check "  readable by the collector (mode 644)" eval \
	    '[ "$(in_ct stat -c %a /run/fingerd/fingerd.prom)" = 644 ]'
}

began=$SECONDS
if ! make_tree; then
	echo "       | $(tail -1 "$T/debootstrap.log")"
	skip_all "tests/system/test_systemd.sh: debootstrap could not make $TREE (no mirror reachable?)"
fi
echo "# the tree $TREE ($((SECONDS - began)) s)"

began=$SECONDS
mkdir -p "$T/in"
case $DEB_MODE in
build)
	command -v dpkg-buildpackage >/dev/null &&
	    command -v dh >/dev/null ||
	    skip_all "tests/system/test_systemd.sh: dpkg-dev and debhelper are needed to build the package"
	if build_deb "$T/deb"; then
		ok "dpkg-buildpackage -us -uc -b builds the package ($((SECONDS - began)) s)"
	else
		not_ok "dpkg-buildpackage -us -uc -b builds the package"
		tail -20 "$T/deb/build.log" | sed 's/^/       | /'
		echo "$passed passed, $failed failed"
		exit 1
	fi
	cp "$(ls "$T"/deb/fingerd-uring_*.deb | head -1)" \
	    "$T/in/fingerd-uring.deb" ;;
*)
	cp "$DEB_MODE" "$T/in/fingerd-uring.deb" || exit 1 ;;
esac

if start_container; then
	for t in test_package test_activation test_reload test_worker_killed \
	    test_journal test_exposure test_epoll test_metrics; do
		began=$SECONDS
		$t || break
		echo "# ($((SECONDS - began)) s)"
	done
fi
stop_container
check "the container is stopped" eval '! alive "${NSPAWN_PID:-0}"'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
