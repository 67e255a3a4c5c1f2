#!/bin/bash
# tests/system/test_ops.sh: fingerd the way machines run it, with real components.
#
#   the Debian finger client against fingerd on port 79
#   systemd-socket-activate handing fingerd its socket (fingerd.socket)
#   socat starting fingerd -i per connection, as inetd does (fingerd.inetd)
#   -w 2: two workers, signals forwarded, a killed worker replaced
#   make install / make uninstall (install.mk), the systemd units
#   the Debian package: built, inspected, installed in a throwaway root
#   fingerd.8: mandoc -Tlint, and the flags of fingerd -h
#
# Run as root from anywhere (make check does): tests/system/test_ops.sh.  The
# whole script runs in a private network namespace (unshare -n), so port
# 79 and the fixed ports below are its own; a mount namespace holds the
# package's installation.  The user database is a fixture read through
# nss_wrapper.  Environment:
#
#   FINGERD=path           the binary under test (default ./fingerd)
#   FINGERD_OPS_DEB=build  build the .deb from a copy of this tree
#                          (default; 15 to 30 s)
#                   =skip  do not; =path/to/x.deb  check that one
#   NSS_WRAPPER_LIB=path   libnss_wrapper.so (default: found in /usr/lib)
#   OPS_TRACE=1            trace every command, with a timestamp
#
# Needs (Debian): finger systemd socat netcat-openbsd libnss-wrapper mandoc
# iproute2 strace, and for the package debhelper and dpkg-dev.  Prints
# one line per check and ends with "N passed, N failed"; the exit status
# is 1 when anything failed.  It takes about 40 s.

set -u
[ -n "${OPS_TRACE:-}" ] && { PS4='+ $EPOCHREALTIME '; set -x; }

cd "$(dirname "$0")/../.." || exit 1
TOP=$(pwd)
. tests/harness/checks.sh
fingerd_found
DEB_MODE=${FINGERD_OPS_DEB:-build}
# The engine the daemons run with (make check runs this under each).
ENGINE=()
[ -n "${FINGERD_ENGINE:-}" ] && ENGINE=(-E "$FINGERD_ENGINE")

needs_root "port 79, namespaces"
# Everything below runs in a network namespace of its own, bounded.
in_netns FINGERD_OPS_NETNS 280

scratch ops
DAEMONS=()

# The processes a process started.
children() {
	echo $(cat /proc/"$1"/task/*/children 2>/dev/null)
}

descendants() {
	local c
	for c in $(children "$1"); do
		echo "$c"
		descendants "$c"
	done
}

none_alive() {
	local p
	for p in "$@"; do
		! alive "$p" || return 1
	done
}

cleanup() {
	local p all=""
	trap - EXIT INT TERM
	for p in "${DAEMONS[@]}"; do
		all="$all $p $(descendants "$p")"
	done
	for p in $all; do kill -TERM "$p" 2>/dev/null; done
	for p in $all; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do alive "$p" || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 1' INT TERM

# ---------------------------------------------------------------- fixture

NSS_LIB=${NSS_WRAPPER_LIB:-}
[ -n "$NSS_LIB" ] || NSS_LIB=$(ls /usr/lib/*/libnss_wrapper.so \
    /usr/lib/libnss_wrapper.so 2>/dev/null | head -1)
if [ -z "$NSS_LIB" ]; then
	not_ok "libnss_wrapper.so not found: apt-get install libnss-wrapper"
	echo "$passed passed, $failed failed"
	exit 1
fi

cat >"$T/passwd" <<EOF
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
alice:x:1001:1001:Alice Liddell,Room 1,555-0101,:$T/home/alice:/bin/sh
bob:x:1002:79:Bob Builder:$T/home/bob:/bin/sh
mallory:x:1006:100:Mallory Outsider:$T/home/mallory:/bin/sh
EOF
write_group() {	# in place: Landlock allows this very file, not its name
	printf 'root:x:0:\nusers:x:100:\nfinger:x:79:%s\nnogroup:x:65534:\n' \
	    "$1" >"$T/group"
	# nss_wrapper reloads when the mtime (in seconds) changes.
	touch -d "@$(($(date +%s) + ${2:-0}))" "$T/group"
}
write_group alice
mkdir -p "$T/home/alice" "$T/home/bob" "$T/home/mallory"
printf 'Down the rabbit hole.\nCuriouser and curiouser!\n' \
    >"$T/home/alice/.plan"
printf 'Can we fix it?\r\nYes we can!\r\n' >"$T/home/bob/.plan"
printf 'Building things\nsecond line\n' >"$T/home/bob/.project"
printf -- '-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQENBFakeKey\n-----END PGP PUBLIC KEY BLOCK-----\n' \
    >"$T/home/bob/.pgpkey"
printf 'I am not a member.\n' >"$T/home/mallory/.plan"
chmod 755 "$T/home" "$T/home"/*
chmod 644 "$T/home"/*/.plan "$T/home/bob/.project" "$T/home/bob/.pgpkey" \
    "$T/passwd" "$T/group"

REPLY_ALICE='Login: alice\tName: Alice Liddell\r\nPlan:\r\nDown the rabbit hole.\r\nCuriouser and curiouser!\r\n'
REPLY_MALLORY='Login: mallory\tName: Mallory Outsider\r\nPlan:\r\nI am not a member.\r\n'
REPLY_LIST='Login     Name\r\nalice     Alice Liddell\r\nbob       Bob Builder\r\n'
REPLY_NO_SUCH='No such user\r\n'

DAEMON_ENV=(env LD_PRELOAD="$NSS_LIB" NSS_WRAPPER_PASSWD="$T/passwd"
    NSS_WRAPPER_GROUP="$T/group"
    ASAN_OPTIONS="${ASAN_OPTIONS:-verify_asan_link_order=0:detect_leaks=1}"
    UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}")
# The same for systemd-socket-activate, which passes only what -E names.
ACTIVATE_ENV=()
for v in "${DAEMON_ENV[@]:1}"; do
	ACTIVATE_ENV+=(-E "$v")
done

# start name command...: in the background, stderr to $T/name.log; $PID.
start() {
	local name=$1
	shift
	: >"$T/$name.log"
	"$@" <"/dev/null" >"$T/$name.out" 2>"$T/$name.log" &
	PID=$!
	DAEMONS+=("$PID")
}

# query port 'text' > reply: one exchange with a plain TCP client.
query() {
	printf '%s\r\n' "$2" | timeout 10 nc -w 5 127.0.0.1 "$1"
}

ascii_log() {
	echo "       log $1:"
	sed 's/^/       | /' "$T/$1.log" | head -20
}

# ------------------------------------------- the finger client, on port 79

test_finger_client() {
	echo "# the Debian finger client, fingerd on port 79 (started as root)"
	if ! command -v finger >/dev/null; then
		not_ok "finger is not installed: apt-get install finger"
		return
	fi
	start port79 "${DAEMON_ENV[@]}" "$FINGERD" "${ENGINE[@]}"
	local pid=$PID
	if ! wait_until 10 log_has "$T/port79.log" '^fingerd: event=start group=finger '; then
		not_ok "fingerd with no flags starts on port 79"
		ascii_log port79
		return
	fi
	ok "fingerd with no flags starts on port 79"
	check "it listens on [::]:79, dual-stack" \
	    log_has "$T/port79.log" '^fingerd: event=listen address=\[::\]:79$'
	check "it runs as nobody (uid and gid 65534 in every slot, no groups)" \
	    eval "grep -qE '^Uid:\s+65534\s+65534\s+65534\s+65534$' /proc/$pid/status &&
	    grep -qE '^Gid:\s+65534\s+65534\s+65534\s+65534$' /proc/$pid/status &&
	    grep -qE '^Groups:\s*$' /proc/$pid/status"

	timeout 10 finger alice@127.0.0.1 >"$T/f.alice" 2>&1
	expect_bytes "finger alice@127.0.0.1: her plan, exactly" "$T/f.alice" \
	    'Login: alice\tName: Alice Liddell\nPlan:\nDown the rabbit hole.\nCuriouser and curiouser!\n'
	timeout 10 finger bob@localhost >"$T/f.bob" 2>&1
	expect_bytes "finger bob@localhost (member by primary group)" \
	    "$T/f.bob" \
	    'Login: bob\tName: Bob Builder\nPlan:\nCan we fix it?\nYes we can!\n'
	timeout 10 finger -l bob@localhost >"$T/f.bob-l" 2>&1
	expect_bytes "finger -l bob@localhost (/W): project and key, then the plan" \
	    "$T/f.bob-l" \
	    'Login: bob\tName: Bob Builder\nProject: Building things\nPGP key:\n-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQENBFakeKey\n-----END PGP PUBLIC KEY BLOCK-----\nPlan:\nCan we fix it?\nYes we can!\n'
	timeout 10 finger mallory@127.0.0.1 >"$T/f.mallory" 2>&1
	expect_bytes "finger mallory@127.0.0.1 (an account, not a member)" \
	    "$T/f.mallory" 'No such user\n'
	timeout 10 finger nosuchuser@127.0.0.1 >"$T/f.nosuch" 2>&1
	check "a non-member and a missing account get the same bytes" \
	    cmp -s "$T/f.mallory" "$T/f.nosuch"
	timeout 10 finger @127.0.0.1 >"$T/f.list" 2>&1
	expect_bytes "finger @127.0.0.1: the members, a table sorted by login" \
	    "$T/f.list" \
	    'Login     Name\nalice     Alice Liddell\nbob       Bob Builder\n'
	if command -v lynx >/dev/null; then
		timeout 10 lynx -dump finger://127.0.0.1/bob >"$T/l.bob" 2>&1
		expect_bytes "lynx -dump finger://127.0.0.1/bob" "$T/l.bob" \
		    '                        Finger server on 127.0.0.1: bob\n\nLogin: bob      Name: Bob Builder\nPlan:\nCan we fix it?\nYes we can!\n'
		timeout 10 lynx -dump finger://127.0.0.1/ >"$T/l.list" 2>&1
		expect_bytes "lynx -dump finger://127.0.0.1/: the list in columns" \
		    "$T/l.list" \
		    '                          Finger server on 127.0.0.1:\n\nLogin     Name\nalice     Alice Liddell\nbob       Bob Builder\n'
	else
		not_ok "lynx is not installed: apt-get install lynx"
	fi
	query 79 alice >"$T/r.alice"
	expect_bytes "on the wire: CRLF line ends, byte for byte" \
	    "$T/r.alice" "$REPLY_ALICE"
	# A line is written within 10 ms of its exchange's end.
	check "each finger exchange is logged" wait_until 2 log_has \
	    "$T/port79.log" \
	    '^fingerd: client=127\.0\.0\.1 query="(alice|bob|/W bob|mallory|nosuchuser|)" ' 8
	kill -TERM "$pid"
	wait_exit "$pid" 10
	check "SIGTERM: exit status 0 (got $STATUS)" [ "$STATUS" = 0 ]
}

# ------------------------------------------------ systemd socket activation

test_socket_activation() {
	echo "# systemd-socket-activate hands fingerd its socket"
	if ! command -v systemd-socket-activate >/dev/null; then
		not_ok "systemd-socket-activate missing: apt-get install systemd"
		return
	fi
	# -B and -P name an address and port fingerd could not bind: they
	# must be ignored for the passed socket.
	start activate timeout -k 5 60 systemd-socket-activate \
	    -l 127.0.0.1:7979 "${ACTIVATE_ENV[@]}" "$FINGERD" "${ENGINE[@]}" -B 192.0.2.1 -P 1
	local tpid=$PID pid
	wait_until 10 log_has "$T/activate.log" 'Listening on 127.0.0.1:7979'
	query 7979 alice >"$T/r.act1"
	if ! expect_bytes "the first connection is answered, exactly" \
	    "$T/r.act1" "$REPLY_ALICE"; then
		ascii_log activate
		return
	fi
	query 7979 '' >"$T/r.act2"
	expect_bytes "so is the next, by the same fingerd" "$T/r.act2" \
	    "$REPLY_LIST"
	check "the log says it used the passed socket" log_has \
	    "$T/activate.log" '^fingerd: event=listen address=systemd$'
	check "it bound nothing itself (-B and -P ignored)" eval \
	    "! log_text '$T/activate.log' | grep -q '^fingerd: event=listen address=[0-9[]'"
	pid=$(children "$tpid")
	check "one fingerd served both (Accept=no)" eval \
	    "[ \$(log_text '$T/activate.log' | grep -c '^fingerd: client=') = 2 ] &&
	    [ \"\$(readlink /proc/$pid/exe)\" = '$FINGERD' ]"
	kill -TERM "$pid" 2>/dev/null
	wait_exit "$tpid" 10
	check "SIGTERM: exit status 0 (got $STATUS)" [ "$STATUS" = 0 ]

	echo "# systemd's socket shared by -w 2"
	start activate2 timeout -k 5 60 systemd-socket-activate \
	    -l 127.0.0.1:7978 "${ACTIVATE_ENV[@]}" "$FINGERD" "${ENGINE[@]}" -w 2
	tpid=$PID
	wait_until 10 log_has "$T/activate2.log" 'Listening on 127.0.0.1:7978'
	query 7978 alice >"$T/r.act3"
	if ! expect_bytes "the first connection is answered" "$T/r.act3" \
	    "$REPLY_ALICE"; then
		ascii_log activate2
		return
	fi
	wait_until 10 log_has "$T/activate2.log" '^fingerd: event=start '
	many 7978 50 activate2
	check "both workers serve on the passed socket (pids $(served_by activate2))" \
	    [ "$(served_by activate2 | wc -w)" = 2 ]
	pid=$(children "$tpid")
	kill -TERM "$pid" 2>/dev/null
	wait_exit "$tpid" 10
	check "SIGTERM: exit status 0 (got $STATUS)" [ "$STATUS" = 0 ]
}

# quick port 'query' 'expected reply': one exchange without starting a
# process (bash's /dev/tcp), for the tests that make hundreds.
quick() {
	local got want
	exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf '%s\r\n' "$2" >&3
	IFS= read -r -d '' -t 10 -u 3 got
	exec 3<&-
	printf -v want '%b' "$3"
	[ "$got" = "$want" ]
}

# many port n name: n exchanges; counts the wrong replies in $WRONG.
many() {
	local i
	WRONG=0
	for i in $(seq "$2"); do
		quick "$1" alice "$REPLY_ALICE" || WRONG=$((WRONG + 1))
	done
	# The log line is written after the close: let the last ones land.
	wait_until 5 log_has "$T/$3.log" '\]: client=' "$(($2 - WRONG))"
}

# The pids in the log's client lines, on one line.
served_by() {
	echo $(log_text "$T/$1.log" |
	    sed -n 's/^fingerd\[\([0-9]*\)\]: client=.*/\1/p' | sort -n -u)
}

# The fingerd supervisor among a process's descendants: the one whose
# command line is the binary's (a worker's says "fingerd: worker").
supervisor_of() {
	local p
	for p in $(descendants "$1"); do
		if [ "$(tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null |
		    head -1)" = "$FINGERD" ]; then
			echo "$p"
			return
		fi
	done
}

# The children of a process, sorted, on one line.
workers_of() {
	echo $(children "$1" | tr ' ' '\n' | sort -n)
}

# ----------------------------------------------------------- inetd (socat)

# The wrapper stands for inetd: the connection on 0 and 1 (and 2 when
# asked), nothing else open, then records how fingerd -i ended.
write_inetd_wrapper() {
	mkdir -p "$T/inetd"
	chmod 1777 "$T/inetd"
	cat >"$T/inetd-wrapper" <<'EOF'
#!/bin/bash
mode=$1 dir=$2
shift 2
# 255: bash reads this script from it (and closes it at exec).
fds=$(ls /proc/$$/fd)
for n in $fds; do
	[ "$n" -gt 2 ] && [ "$n" != 255 ] && eval "exec $n>&-"
done
[ "$mode" = stderr-is-socket ] && exec 2>&1
"$@"
echo $? >"$dir/status.$mode"
EOF
	chmod 755 "$T/inetd-wrapper"
}

# The exit status of the last fingerd -i started in this mode.
inetd_status() {
	cat "$T/inetd/status.$1" 2>/dev/null
}

# inetd_exited mode: waits for that fingerd -i to end; true if with 0.
inetd_exited() {
	wait_until 5 eval "[ -s '$T/inetd/status.$1' ]"
	[ "$(inetd_status "$1")" = 0 ]
}

test_inetd() {
	local port=7980 mode pid client
	echo "# fingerd -i, one per connection, as inetd starts it (socat)"
	if ! command -v socat >/dev/null; then
		not_ok "socat is not installed: apt-get install socat"
		return
	fi
	write_inetd_wrapper

	# Started as root, stderr a file: fingerd drops to nobody and logs.
	mode=stderr-is-log
	start inetd-root "${DAEMON_ENV[@]}" socat \
	    TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork \
	    EXEC:"$T/inetd-wrapper $mode $T/inetd $FINGERD ${ENGINE[*]} -i",nofork
	pid=$PID
	wait_until 5 eval "ss -ltn | grep -q 127.0.0.1:$port"
	query $port alice >"$T/r.inetd1"
	expect_bytes "-i as root: the exact reply, no log on the connection" \
	    "$T/r.inetd1" "$REPLY_ALICE"
	check "-i: fingerd exited after its connection, status 0" \
	    inetd_exited $mode
	check "-i: the exchange is logged on stderr" log_has \
	    "$T/inetd-root.log" \
	    '^fingerd: client=127\.0\.0\.1 query="alice" reply=plan end=ok'
	rm -f "$T/inetd/status.$mode"
	query $port mallory >"$T/r.inetd2"
	expect_bytes "-i: a second connection, a second fingerd" \
	    "$T/r.inetd2" "$REPLY_NO_SUCH"
	check "  which exited too" inetd_exited $mode
	kill -TERM "$pid"
	wait_exit "$pid" 5

	# As the inetd.conf line has it: user nobody, stderr the connection.
	mode=stderr-is-socket
	start inetd-nobody "${DAEMON_ENV[@]}" setpriv --reuid=65534 \
	    --regid=65534 --clear-groups socat \
	    TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork \
	    EXEC:"$T/inetd-wrapper $mode $T/inetd $FINGERD ${ENGINE[*]} -i -t 1",nofork
	pid=$PID
	wait_until 5 eval "ss -ltn | grep -q 127.0.0.1:$port"
	query $port '' >"$T/r.inetd3"
	expect_bytes "-i as nobody, stderr the socket: exact reply, no log line" \
	    "$T/r.inetd3" "$REPLY_LIST"
	check "-i: exited after its connection, status 0" \
	    inetd_exited $mode
	rm -f "$T/inetd/status.$mode"
	timeout 10 nc -w 8 127.0.0.1 $port </dev/null >"$T/r.inetd4" &
	client=$!
	check "-i -t 1: a client that sends nothing is dropped at the deadline" \
	    wait_until 5 eval "[ -s '$T/inetd/status.$mode' ]"
	check "  and fingerd exits with status 0 (got $(inetd_status $mode))" \
	    [ "$(inetd_status $mode)" = 0 ]
	wait "$client"
	check "  having sent it nothing" [ ! -s "$T/r.inetd4" ]
	kill -TERM "$pid"
	wait_exit "$pid" 5
}

# ------------------------------------------------------------------ -w 2

test_workers() {
	local pid port=7981 workers old killed survivor new n
	echo "# -w 2: a supervisor and two workers on one port (SO_REUSEPORT)"
	start workers "${DAEMON_ENV[@]}" "$FINGERD" "${ENGINE[@]}" -w 2 -B 127.0.0.1 -P $port
	pid=$PID
	if ! wait_until 10 log_has "$T/workers.log" \
	    '^fingerd: event=start group=finger members=2 workers=2$'; then
		not_ok "-w 2 starts two workers"
		ascii_log workers
		return
	fi
	workers=$(workers_of "$pid")
	check "-w 2: two worker processes, children of fingerd ($workers)" \
	    [ "$(echo "$workers" | wc -w)" = 2 ]
	check "  named by ps as workers of generation 1" eval \
	    "[ \"\$(for w in $workers; do tr '\\0' ' ' </proc/\$w/cmdline;
	    echo; done)\" = \"fingerd: worker 1/2, generation 1 
fingerd: worker 2/2, generation 1 \" ] ||
	    [ \"\$(for w in $workers; do tr '\\0' ' ' </proc/\$w/cmdline;
	    echo; done)\" = \"fingerd: worker 2/2, generation 1 
fingerd: worker 1/2, generation 1 \" ]"
	many $port 200 workers
	check "-w 2: 200 connections, every reply exact ($WRONG wrong)" \
	    [ "$WRONG" = 0 ]
	check "-w 2: both workers served (pids $(served_by workers))" \
	    [ "$(served_by workers)" = "$workers" ]

	write_group alice,mallory 2
	kill -HUP "$pid"
	check "SIGHUP: the supervisor reads the group, once" wait_until 5 \
	    log_has "$T/workers.log" \
	    '^fingerd: event=reload group=finger members=3 generation=[0-9]+ why=[a-z-]+$'
	old=$workers
	check "  two new workers replace the two old ones" wait_until 10 eval \
	    '[ "$(workers_of '"$pid"' | wc -w)" = 2 ] &&
	    [ -z "$(comm -12 <(echo '"$old"' | tr " " "\n" | sort) \
	    <(workers_of '"$pid"' | tr " " "\n" | sort))" ]'
	workers=$(workers_of "$pid")
	check "  the old workers are gone ($old)" wait_until 10 none_alive $old
	check "  no SIGHUP line from a worker" eval \
	    "! log_text '$T/workers.log' | grep -qE '^fingerd\\[[0-9]+\\]: event=reload'"
	WRONG=0
	for _ in $(seq 40); do
		quick $port mallory "$REPLY_MALLORY" || WRONG=$((WRONG + 1))
	done
	check "  every worker serves the new member ($WRONG of 40 wrong)" \
	    [ "$WRONG" = 0 ]

	killed=${workers%% *}
	survivor=${workers##* }
	kill -KILL "$killed"
	check "SIGKILL of worker $killed is reported" wait_until 5 log_has \
	    "$T/workers.log" \
	    "^fingerd: event=worker-exit pid=$killed signal=SIGKILL .* restart=[0-9]+s$"
	wait_until 5 eval '[ "$(workers_of '"$pid"' | wc -w)" = 2 ] &&
	    ! workers_of '"$pid"' | grep -qw '"$killed"
	new=$(workers_of "$pid" | tr ' ' '\n' | grep -vx "$survivor" |
	    grep -vx "$killed")
	check "  and replaced by a new worker (${new:-none})" eval \
	    '[ -n "$new" ] && [ "$(workers_of "$pid" | wc -w)" = 2 ]'
	n=0
	while [ $n -lt 100 ] &&
	    ! log_has "$T/workers.log" "^fingerd\[$new\]: client="; do
		quick $port alice "$REPLY_ALICE"
		n=$((n + 1))
	done
	check "  which serves (seen after $n connections)" \
	    log_has "$T/workers.log" "^fingerd\[$new\]: client="

	workers=$(workers_of "$pid")
	kill -TERM "$pid"
	wait_exit "$pid" 10
	check "-w 2, SIGTERM: exit status 0 (got $STATUS)" [ "$STATUS" = 0 ]
	# After the stop: the group followed would start a new generation.
	write_group alice 4
	check "  both workers ($workers) are gone" none_alive $workers
	check "  no other worker was reported dying" eval \
	    "! grep -E 'event=worker-exit' '$T/workers.log' |
	    grep -v 'pid=$killed signal=SIGKILL ' | grep -q ."
}

# ---------------------------------------------- the syscalls the unit allows

# The service's SystemCallFilter=, every @group expanded: the calls its
# allow lists name, less those a later ~ list takes away (as systemd
# reads them when the first list allows).
unit_syscalls() {
	local line
	sed -n 's/^SystemCallFilter=//p' "$TOP/fingerd.service" |
	    while read -r line; do
		case $line in
		~*) filter_syscalls deny ${line#\~} ;;
		*) filter_syscalls allow $line ;;
		esac
	done >"$T/filter"
	comm -23 <(awk '$1 == "allow" { print $2 }' "$T/filter" | sort -u) \
	    <(awk '$1 == "deny" { print $2 }' "$T/filter" | sort -u)
}

filter_syscalls() {	# filter_syscalls allow|deny item...
	local how=$1 item
	shift
	for item in "$@"; do
		expand_syscalls "$item" | sed "s/^/$how /"
	done
}

expand_syscalls() {
	local item
	case $1 in
	@*)
		for item in $(systemd-analyze syscall-filter "$1" 2>/dev/null |
		    sed -n 's/^    \([^ #][^ ]*\)$/\1/p'); do
			expand_syscalls "$item"
		done ;;
	*) echo "$1" ;;
	esac
}

test_syscall_filter() {
	local pid missing
	echo "# fingerd.service's SystemCallFilter= against the calls fingerd makes"
	if ! command -v systemd-analyze >/dev/null; then
		skip "systemd-analyze is not installed"
		return
	fi
	unit_syscalls >"$T/allowed"
	check "io_uring_setup, io_uring_enter, io_uring_register stay allowed" \
	    eval "grep -qx io_uring_setup '$T/allowed' &&
	    grep -qx io_uring_enter '$T/allowed' &&
	    grep -qx io_uring_register '$T/allowed'"
	if ! command -v strace >/dev/null; then
		skip "strace is not installed: the calls made are not checked"
		return
	fi
	if grep -q __asan_init "$FINGERD"; then
		skip "an ASan build makes calls of its own: not checked"
		return
	fi
	# As systemd runs it: not root, with no capability (the unit's
	# filter refuses the calls of a start as root); on a passed socket,
	# and with workers, one of them killed and restarted, the group
	# reloaded.
	: >"$T/strace1"
	chmod 666 "$T/strace1"
	start strace1 timeout -k 5 60 setpriv --reuid=65534 --regid=65534 \
	    --clear-groups strace -f -qq -o "$T/strace1" \
	    systemd-socket-activate -l 127.0.0.1:7982 "${ACTIVATE_ENV[@]}" \
	    "$FINGERD" "${ENGINE[@]}"
	wait_until 10 log_has "$T/strace1.log" 'Listening on 127.0.0.1:7982'
	query 7982 alice >/dev/null
	if ! wait_until 10 log_has "$T/strace1.log" '^fingerd: client='; then
		not_ok "fingerd runs under strace"
		ascii_log strace1
		return
	fi
	query 7982 '' >/dev/null
	query 7982 mallory >/dev/null
	# A queried plan gets its inotify watches (watches.c).  The plans'
	# statx, open, read and close are the engine's requests (the ring's,
	# or the epoll engine's threads'): the calls are checked below (and
	# the worker's seccomp filter allows no other).
	local i traced
	for i in $(seq 20); do
		query 7982 alice >/dev/null
		log_has "$T/strace1" 'inotify_add_watch\(.*home/alice/\.plan"' &&
		    break
		sleep 0.25
	done
	if log_has "$T/strace1" 'inotify_add_watch\(.*home/alice/\.plan"'; then
		ok "a plan found in the cache is watched through inotify"
		traced=$(wc -l <"$T/strace1")
		query 7982 alice >"$T/q.alice"
		expect_bytes "then a query for it gets its reply" "$T/q.alice" \
		    "$REPLY_ALICE"
		check "and the worker makes no file system call for it (strace)" \
		    eval "! tail -n +$((traced + 1)) '$T/strace1' |
		    grep -qE '(statx|open|stat|inotify_add_watch)\(.*alice'"
	else
		not_ok "a plan found in the cache is watched through inotify"
	fi
	pid=$(supervisor_of "$PID")
	kill -HUP "$pid"
	wait_until 5 log_has "$T/strace1.log" '^fingerd: event=reload '
	sleep 0.5
	query 7982 alice >/dev/null
	kill -TERM "$pid"
	wait_exit "$PID" 10

	: >"$T/strace2"
	chmod 666 "$T/strace2"
	start strace2 setpriv --reuid=65534 --regid=65534 --clear-groups \
	    strace -f -qq -o "$T/strace2" -E LD_PRELOAD="$NSS_LIB" \
	    -E NSS_WRAPPER_PASSWD="$T/passwd" -E NSS_WRAPPER_GROUP="$T/group" \
	    "$FINGERD" "${ENGINE[@]}" -w 2 -B 127.0.0.1 -P 7983
	local spid=$PID
	if ! wait_until 10 log_has "$T/strace2.log" '^fingerd: event=start '
	then
		not_ok "fingerd -w 2 runs under strace"
		ascii_log strace2
		return
	fi
	query 7983 alice >/dev/null
	query 7983 '' >/dev/null
	pid=$(children "$spid")
	kill -HUP "$pid"
	wait_until 5 log_has "$T/strace2.log" '^fingerd: event=reload '
	sleep 0.5
	kill -KILL "$(workers_of "$pid" | awk '{ print $1 }')"
	wait_until 5 eval '[ "$(workers_of '"$pid"' | wc -w)" = 2 ]'
	query 7983 alice >/dev/null
	kill -TERM "$pid"
	wait_exit "$spid" 10
	# strace1 begins with systemd-socket-activate's own calls.
	{ awk '/execve\("[^"]*fingerd"/ { on = 1 } on' "$T/strace1"
	  cat "$T/strace2"; } |
	    sed -n 's/^[0-9]* *\([a-z0-9_]*\)(.*/\1/p' | sort -u >"$T/used"
	missing=$(comm -23 "$T/used" "$T/allowed" | tr '\n' ' ')
	check "every call fingerd makes is allowed ($(wc -l <"$T/used") calls${missing:+; not allowed: $missing})" \
	    [ -z "$missing" ]
}

# ------------------------------------------------------ make install, units

UNIT_DIR=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)

installed_files() {
	(cd "$1" && find . \( -type f -o -type l \) -printf '%m %P\n' | sort)
}

test_install() {
	local root=$T/root unitdir
	echo "# make install / make uninstall (install.mk)"
	if [ ! -f "$TOP/fingerd.8" ]; then
		skip "fingerd.8 does not exist yet: make install needs it"
		return
	fi
	if timeout 60 make -s -C "$TOP" -f install.mk install DESTDIR="$root" \
	    BIN="$FINGERD" >"$T/install.log" 2>&1; then
		ok "make install DESTDIR=... succeeds"
	else
		not_ok "make install DESTDIR=... succeeds"
		sed 's/^/       | /' "$T/install.log"
	fi
	unitdir=${UNIT_DIR:-/usr/local/lib/systemd/system}
	unitdir=${unitdir#/}
	installed_files "$root" >"$T/files"
	printf '%s\n' "644 $unitdir/fingerd.service" \
	    "644 $unitdir/fingerd.socket" "755 usr/local/sbin/fingerd" \
	    "644 usr/local/share/man/man8/fingerd.8" | sort >"$T/files.want"
	check "exactly the binary, the page and the units, with their modes" \
	    cmp -s "$T/files" "$T/files.want" ||
	    diff "$T/files.want" "$T/files" | sed 's/^/       /'
	check "the binary is installed as built (not stripped)" \
	    cmp -s "$FINGERD" "$root/usr/local/sbin/fingerd"
	check "the installed service runs the installed binary" grep -qx \
	    'ExecStart=/usr/local/sbin/fingerd' "$root/$unitdir/fingerd.service"
	timeout 60 make -s -C "$TOP" -f install.mk uninstall DESTDIR="$root" \
	    BIN="$FINGERD" >"$T/install.log" 2>&1
	check "make uninstall removes every file it installed" \
	    eval "[ -z \"\$(installed_files '$root')\" ]"

	root=$T/root-usr
	timeout 60 make -s -C "$TOP" -f install.mk install DESTDIR="$root" \
	    BIN="$FINGERD" PREFIX=/usr sbindir=/usr/libexec/x \
	    mandir=/usr/man systemdsystemunitdir=/etc/units \
	    >"$T/install.log" 2>&1
	printf '%s\n' "644 etc/units/fingerd.service" \
	    "644 etc/units/fingerd.socket" "755 usr/libexec/x/fingerd" \
	    "644 usr/man/man8/fingerd.8" | sort >"$T/files.want"
	installed_files "$root" >"$T/files"
	check "PREFIX, sbindir, mandir and the unit directory are honoured" \
	    cmp -s "$T/files" "$T/files.want"
	check "  ExecStart= follows sbindir" grep -qx \
	    'ExecStart=/usr/libexec/x/fingerd' "$root/etc/units/fingerd.service"

	# Alone, with a fingerd.c newer than the binary: installs the binary
	# as it is, never compiles fingerd.c by itself (which would fail and
	# have the linker remove the binary).
	mkdir -p "$T/alone"
	cp "$TOP/install.mk" "$TOP/fingerd.8" "$TOP/fingerd.socket" \
	    "$TOP/fingerd.service" "$T/alone/"
	printf '#!/bin/sh\necho built\n' >"$T/alone/fingerd"
	chmod 755 "$T/alone/fingerd"
	touch -d '-1 hour' "$T/alone/fingerd"
	echo 'int main(void) { return broken; }' >"$T/alone/fingerd.c"
	# (BIN= here: a make check-asan this runs under exports its own.)
	MAKEFLAGS= timeout 60 make -s -C "$T/alone" -f install.mk install \
	    BIN=./fingerd DESTDIR="$T/alone-root" >"$T/alone.log" 2>&1
	check "make -f install.mk installs the binary there is, even older than fingerd.c" \
	    cmp -s "$T/alone/fingerd" "$T/alone-root/usr/local/sbin/fingerd"

	if grep -q '^include install.mk' "$TOP/Makefile"; then
		check "the Makefile includes install.mk: make install works" eval \
		    "make -s -n -C '$TOP' install DESTDIR=/nonexistent |
		    grep -q 'install -m 755'"
	else
		skip "the Makefile does not include install.mk yet"
	fi

	echo "# the systemd units"
	if ! command -v systemd-analyze >/dev/null; then
		skip "systemd-analyze is not installed"
		return
	fi
	mkdir -p "$T/verify/man/man8"
	cp "$TOP/fingerd.8" "$T/verify/man/man8/"
	cp "$TOP/fingerd.socket" "$T/verify/"
	sed "s|^ExecStart=/usr/sbin/fingerd|ExecStart=$FINGERD|" \
	    "$TOP/fingerd.service" >"$T/verify/fingerd.service"
	check "systemd-analyze verify fingerd.socket fingerd.service: clean" \
	    eval "MANPATH='$T/verify/man' timeout 30 systemd-analyze verify \
	    '$T/verify/fingerd.socket' '$T/verify/fingerd.service' \
	    >'$T/verify.log' 2>&1 && [ ! -s '$T/verify.log' ]" ||
	    sed 's/^/       | /' "$T/verify.log"
	check "fingerd.socket: Accept=no, port 79" eval \
	    "grep -qx 'Accept=no' '$TOP/fingerd.socket' &&
	    grep -qx 'ListenStream=79' '$TOP/fingerd.socket'"
	check "fingerd.service: an empty capability bounding set" \
	    grep -qx 'CapabilityBoundingSet=' "$TOP/fingerd.service"
}

# --------------------------------------------------------- the Debian package

test_deb() {
	local deb
	echo "# the Debian package"
	case $DEB_MODE in
	skip)
		skip "FINGERD_OPS_DEB=skip: the package is not built"
		return ;;
	build)
		if ! command -v dpkg-buildpackage >/dev/null ||
		    ! command -v dh >/dev/null; then
			not_ok "dpkg-dev and debhelper are needed to build the package"
			return
		fi
		if [ ! -f "$TOP/fingerd.8" ]; then
			skip "fingerd.8 does not exist yet: no package without it"
			return
		fi
		if build_deb "$T/deb"; then
			ok "dpkg-buildpackage -us -uc -b builds the package"
		else
			not_ok "dpkg-buildpackage -us -uc -b builds the package"
			tail -20 "$T/deb/build.log" | sed 's/^/       | /'
			return
		fi
		deb=$(ls "$T"/deb/fingerd-uring_*.deb 2>/dev/null | head -1) ;;
	*)
		deb=$DEB_MODE ;;
	esac
	if [ ! -f "$deb" ]; then
		not_ok "the package exists (${deb:-none})"
		return
	fi
	dpkg-deb -c "$deb" | awk '{ print $1, $2, $6 }' | sed 's|^\(.*\) \./|\1 /|' >"$T/deb.list"
	local f
	for f in "-rwxr-xr-x root/root /usr/sbin/fingerd" \
	    "-rw-r--r-- root/root /usr/share/man/man8/fingerd.8.gz" \
	    "-rw-r--r-- root/root /usr/share/doc/fingerd-uring/examples/fingerd.inetd"; do
		check "the package holds ${f##* } (${f%% *})" grep -qxF -- "$f" \
		    "$T/deb.list"
	done
	for f in fingerd.socket fingerd.service; do
		check "the package holds the unit $f" grep -qE \
		    "^-rw-r--r-- root/root /(usr/)?lib/systemd/system/$f\$" \
		    "$T/deb.list"
	done
	check "its copyright file says the ISC licence (DEP-5)" eval \
	    "dpkg-deb --fsys-tarfile '$deb' |
	    tar -xOf - ./usr/share/doc/fingerd-uring/copyright |
	    grep -qx 'License: ISC'"
	check "it depends on adduser (the postinst's addgroup)" eval \
	    "dpkg-deb -f '$deb' Depends | grep -qw adduser"
	dpkg-deb -f "$deb" Provides Conflicts Replaces >"$T/deb.relations"
	expect_bytes "it provides, conflicts with and replaces finger-server" \
	    "$T/deb.relations" "Provides: finger-server\nConflicts: \
efingerd, finger-server, fingerd\nReplaces: finger-server\n"
	rm -rf "$T/deb.ctl"
	dpkg-deb -e "$deb" "$T/deb.ctl"
	check "its postinst creates the system group finger when missing" \
	    eval "grep -q 'getent group finger' '$T/deb.ctl/postinst' &&
	    grep -q 'addgroup --system .*finger' '$T/deb.ctl/postinst'"
	check "its postinst enables fingerd.socket" grep -q \
	    "deb-systemd-helper enable 'fingerd.socket'" "$T/deb.ctl/postinst"
	install_deb "$deb"
}

# dpkg -i for real, with /etc, /usr and /var overlays in a mount namespace
# of their own (thrown away at the end); /run is hidden so that the
# maintainer scripts find no systemd to talk to.
install_deb() {
	local d=$T/overlay
	mkdir -p "$d"
	cat >"$d/inside.sh" <<'EOF'
set -e
d=$1 deb=$2
mount --make-rprivate /
for t in etc usr var; do
	mkdir -p "$d/$t.up" "$d/$t.work"
	mount -t overlay overlay \
	    -o "lowerdir=/$t,upperdir=$d/$t.up,workdir=$d/$t.work" "/$t"
done
mount -t tmpfs tmpfs /run
if getent group finger >/dev/null; then groupdel finger; fi
# No manual database rebuild (man-db's trigger): slow, and not tested.
rm -f /var/lib/man-db/auto-update
echo "installing"
DEBIAN_FRONTEND=noninteractive dpkg -i "$deb"
echo "group: $(getent group finger)"
echo "version: $(/usr/sbin/fingerd -V)"
echo "status: $(dpkg-query -W -f='${Status}' fingerd-uring)"
unitdir=/lib/systemd/system
[ -f $unitdir/fingerd.service ] || unitdir=/usr/lib/systemd/system
echo "exec: $(sed -n 's/^ExecStart=//p' $unitdir/fingerd.service)"
echo "enabled: $(readlink /etc/systemd/system/sockets.target.wants/fingerd.socket)"
dpkg --purge fingerd-uring
echo "after purge: $(ls /usr/sbin/fingerd $unitdir/fingerd.socket 2>&1 | grep -c 'No such')"
EOF
	if ! timeout 120 unshare -m bash "$d/inside.sh" "$d" "$1" \
	    >"$T/dpkg.log" 2>&1; then
		if grep -q 'overlay\|mount' "$T/dpkg.log" &&
		    ! grep -q installing "$T/dpkg.log"; then
			skip "no overlay mount here: the package is not installed"
			sed 's/^/       | /' "$T/dpkg.log" | head -5
			return
		fi
		not_ok "dpkg -i then dpkg --purge in a throwaway root"
		sed 's/^/       | /' "$T/dpkg.log" | tail -20
		return
	fi
	ok "dpkg -i then dpkg --purge in a throwaway root"
	check "  the postinst created the system group finger" \
	    grep -qE '^group: finger:x:[0-9]{1,3}:$' "$T/dpkg.log"
	check "  the installed fingerd runs" grep -qE '^version: fingerd ' \
	    "$T/dpkg.log"
	check "  the package is installed" grep -qx \
	    'status: install ok installed' "$T/dpkg.log"
	check "  the unit runs /usr/sbin/fingerd" grep -qx \
	    'exec: /usr/sbin/fingerd' "$T/dpkg.log"
	check "  fingerd.socket is enabled" grep -qE \
	    '^enabled: .*/fingerd.socket$' "$T/dpkg.log"
	check "  purge removes its files" grep -qx 'after purge: 2' \
	    "$T/dpkg.log"
}

# ------------------------------------------------------------ the manual page

test_manual() {
	local page=$TOP/fingerd.8 flag arg
	echo "# fingerd.8"
	if [ ! -f "$page" ]; then
		skip "fingerd.8 does not exist yet"
		return
	fi
	if ! command -v mandoc >/dev/null; then
		not_ok "mandoc is not installed: apt-get install mandoc"
		return
	fi
	# Which manuals .Xr finds depends on the machine, not on the page.
	mandoc -Tlint "$page" 2>&1 | grep -v -e 'referenced manual not found' \
	    -e 'outdated mandoc.db' >"$T/lint"
	check "mandoc -Tlint fingerd.8: clean" eval "[ ! -s '$T/lint' ]" ||
	    sed 's/^/       | /' "$T/lint"
	"$FINGERD" -h >"$T/help" 2>&1
	# The usage line's brackets ("-hVin", "-B addr"), in order.
	sed -n '/^usage:/,/^  -/p' "$T/help" | grep -v '^  -' |
	    grep -o '\[[^]]*\]' | tr -d '[]' >"$T/help.synopsis"
	# Every flag of the list, with its argument's name from the usage.
	sed -n 's/^  -\([A-Za-z]\) .*/\1/p' "$T/help" | while read -r flag; do
		arg=$(sed -n "s/^-$flag \(.*\)/\1/p" "$T/help.synopsis")
		arg=${arg% ...}		# a repeatable flag's
		echo "$flag${arg:+ $arg}"
	done | sort >"$T/help.flags"
	sed -n 's/^\.It Fl \([A-Za-z]\)\( Ar \([a-z-]*\)\)\{0,1\}$/\1 \3/p' \
	    "$page" | sed 's/ $//' | sort >"$T/page.flags"
	check "fingerd -h lists its flags ($(wc -l <"$T/help.flags"))" \
	    [ "$(wc -l <"$T/help.flags")" -ge 10 ]
	awk '{ sub(/^-/, ""); print $1 }' "$T/help.synopsis" | grep -o . |
	    sort >"$T/usage.letters"
	cut -c1 "$T/help.flags" >"$T/list.letters"
	check "fingerd -h: its usage line and its list have the same flags" \
	    cmp -s "$T/usage.letters" "$T/list.letters"
	check "the page documents every flag of -h, same argument, no other" \
	    cmp -s "$T/help.flags" "$T/page.flags" ||
	    diff "$T/help.flags" "$T/page.flags" | sed 's/^/       /'
	sed -n '/^\.Sh SYNOPSIS/,/^\.Sh DESCRIPTION/s/^\.Op Fl //p' "$page" |
	    sed 's/ Ar / /; s/^/-/' >"$T/page.synopsis"
	check "fingerd -h's usage and the page's SYNOPSIS agree" \
	    cmp -s "$T/help.synopsis" "$T/page.synopsis" ||
	    diff "$T/help.synopsis" "$T/page.synopsis" | sed 's/^/       /'
}

# ------------------------------------------------------------ the quick start

# ./quickstart's hints follow its flags: the port of -P (7979 for a user
# who is not root, unless -P), the address of -B, the group of -g, no
# sudo for root.  Only for the binary it builds (./fingerd), once.
quickstart_runs() {	# name: run quickstart with the rest, then TERM it
	local name=$1 pid
	shift
	start "$name" "$@"
	pid=$PID
	wait_until 20 log_has "$T/$name.log" '^fingerd: event=start '
	kill -TERM "$pid" 2>/dev/null
	wait_exit "$pid" 10
}

test_quickstart() {
	echo "# ./quickstart's hints"
	if [ "$FINGERD" != "$TOP/fingerd" ] || [ "$DEB_MODE" = skip ]; then
		skip "quickstart builds ./fingerd: checked with that build only"
		return
	fi
	quickstart_runs qs.root "$TOP/quickstart" -P 7979 -B 127.0.0.1 -g nogroup
	check "root, -P 7979 -B 127.0.0.1: the hints query 127.0.0.1 port 7979" \
	    grep -qF "printf 'alice\r\n' | nc 127.0.0.1 7979" "$T/qs.root.out"
	check "  say where it listens, and opt in with the group of -g, no sudo" \
	    eval "grep -q 'serves port 7979 on 127.0.0.1' '$T/qs.root.out' &&
	    grep -qE '^  opt a user in:  gpasswd -a alice nogroup\$' '$T/qs.root.out'"
	check "  and fingerd served on it" log_has "$T/qs.root.log" \
	    '^fingerd: event=start group=nogroup '
	chmod o+rx "$TOP" 2>/dev/null
	quickstart_runs qs.user setpriv --reuid=65534 --regid=65534 \
	    --clear-groups "$TOP/quickstart" -g nogroup -t 5
	check "not root, with flags but no -P: port 7979, on every address" \
	    eval "grep -q 'not root, so fingerd serves port 7979' '$T/qs.user.out' &&
	    grep -q 'serves port 7979 on every address' '$T/qs.user.out' &&
	    grep -qF 'nc localhost 7979' '$T/qs.user.out'"
	check "  and fingerd served on it" log_has "$T/qs.user.log" \
	    '^fingerd: event=listen address=\[::\]:7979$'
}

# Started as nobody with only a file capability to bind port 79: after
# binding it keeps nothing.  A binary with file capabilities runs in
# secure mode, where the loader ignores LD_PRELOAD (nss_wrapper), so it
# serves the system's own group nogroup.
caps_zero() {
	local f
	for f in CapInh CapPrm CapEff CapAmb; do
		grep -qE "^$f:\s+0{16}$" "/proc/$1/status" || return 1
	done
}

test_file_capability() {
	local bin="$T/fingerd-cap" pid
	echo "# started as nobody with CAP_NET_BIND_SERVICE as a file capability"
	if ! command -v setcap >/dev/null || ! command -v setpriv >/dev/null; then
		not_ok "setcap or setpriv missing: apt-get install libcap2-bin util-linux"
		return
	fi
	cp "$FINGERD" "$bin" && chmod 755 "$bin" && chmod 755 "$T"
	start nocap setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$bin" "${ENGINE[@]}" -g nogroup
	wait_exit "$PID" 10
	check "without the capability, port 79 is refused: status 77 (got $STATUS)" \
	    [ "$STATUS" = 77 ]
	check "  with one line that says what to do" \
	    log_has "$T/nocap.log" '^fingerd: cannot bind \[::\]:79: start as root, give the binary CAP_NET_BIND_SERVICE'
	if ! setcap cap_net_bind_service=ep "$bin" 2>"$T/setcap.err"; then
		not_ok "setcap on $bin: $(cat "$T/setcap.err")"
		return
	fi
	start filecap setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$bin" "${ENGINE[@]}" -g nogroup
	pid=$PID
	if ! wait_until 10 log_has "$T/filecap.log" '^fingerd: event=start group=nogroup '; then
		not_ok "with the file capability, fingerd starts on port 79"
		ascii_log filecap
		return
	fi
	ok "with the file capability, fingerd starts on port 79"
	check "  and keeps no capability in any set" caps_zero "$pid"
	check "  with no_new_privs" \
	    grep -qE '^NoNewPrivs:\s+1$' "/proc/$pid/status"
	check "  still as nobody" \
	    grep -qE '^Uid:\s+65534\s+65534\s+65534\s+65534$' "/proc/$pid/status"
	query 79 '' >"$T/r.filecap"
	check "  and serves: the member list starts with its header" \
	    grep -q '^Login     Name' "$T/r.filecap"
	kill -TERM "$pid"
	wait_exit "$pid" 10
	check "  SIGTERM: exit status 0 (got $STATUS)" [ "$STATUS" = 0 ]
}

for t in test_finger_client test_file_capability test_socket_activation \
    test_inetd test_workers test_syscall_filter test_install test_manual \
    test_quickstart test_deb; do
	began=$SECONDS
	$t
	echo "# ($((SECONDS - began)) s)"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
