#!/bin/bash
# tests/system/test_container.sh: fingerd in a real OCI runtime (runc), under the
# seccomp profile Podman gives every container by default, which refuses
# io_uring with ENOSYS.  fingerd is started with no flag and must serve.
#
#   a minimal directory root file system: the binary, exactly the shared
#       libraries ldd names (with the loader), /etc/passwd, /etc/group
#       (group finger holds alice), /etc/nsswitch.conf (files), alice's
#       .plan; no shell
#   the bundle written by oci-bundle: CMD /usr/sbin/fingerd -P 79, run as
#       root in the container, which binds port 79 and becomes nobody
#   runc run in the background, bounded; from outside the container: nc
#       and the Debian finger client on 127.0.0.1:79
#   runc kill (SIGTERM): fingerd exits 0; the container is deleted
#
# Run as root from anywhere: tests/system/test_container.sh.  The whole script
# runs in a private network namespace (unshare -n); oci-bundle makes the
# container share "the host's" network namespace, which is that one, so
# port 79 is the script's own.  Environment:
#
#   FINGERD=path           the binary under test (default ./fingerd)
#   OCI_BUNDLE=path        the bundle writer (default tests/data/oci-bundle)
#   FINGERD_CONTAINER_SELFTEST=1
#                          prove the harness: the same bundle, with a stand-in
#                          server (busybox nc -ll and a shell script) in place
#                          of fingerd; every outside check must then pass
#   FINGERD_CONTAINER_ENGINE_RE=ERE
#                          what the log's first lines must match (ENGINE_RE)
#   OPS_TRACE=1            trace every command, with a timestamp
#
# Needs (Debian): runc podman python3 (oci-bundle), finger netbase
# netcat-openbsd iproute2, and busybox-static (or busybox) for the
# self-test only.  Prints one line per check and ends with
# "N passed, N failed"; the exit status is 1 when anything failed.  It
# takes about 3 s.

# The line of the log, before "serving group", that names the engine and
# the cause: Podman's profile refuses io_uring with ENOSYS.
ENGINE_RE=${FINGERD_CONTAINER_ENGINE_RE:-'^fingerd: event=engine engine=epoll why="io_uring is refused: a seccomp profile refuses it with ENOSYS'}

set -u
[ -n "${OPS_TRACE:-}" ] && { PS4='+ $EPOCHREALTIME '; set -x; }

cd "$(dirname "$0")/../.." || exit 1
TOP=$(pwd)
SELFTEST=${FINGERD_CONTAINER_SELFTEST:-}
OCI_BUNDLE=${OCI_BUNDLE:-$TOP/tests/data/oci-bundle}

. tests/harness/checks.sh
needs_root "runc, port 79"

if [ -z "$SELFTEST" ]; then
	fingerd_found
else
	FINGERD=${FINGERD:-./fingerd}
fi
for tool in runc podman python3 ldd; do
	command -v $tool >/dev/null ||
	    bail "$tool is not installed (apt-get install runc podman python3)"
done
[ -x "$OCI_BUNDLE" ] || bail "oci-bundle not found at $OCI_BUNDLE (set OCI_BUNDLE)"

# Everything below runs in a network namespace of its own, bounded.
in_netns FINGERD_CONTAINER_NETNS 240 OCI_BUNDLE="$OCI_BUNDLE"

# The root file system is under $T: nobody must get through to the homes.
scratch container
ROOTFS=$T/rootfs
BUNDLE=$T/bundle
STATE=$T/runc			# runc --root: this script's containers only
NAME=fingerd-ct-$$
RUNC_PID=

runc_() {
	timeout -k 2 10 runc --root "$STATE" "$@"
}

# json_get key < JSON: the top-level value (runc state's pid, status).
json_get() {
	python3 -c 'import json, sys
print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1" 2>/dev/null
}

show_log() {
	echo "       container stderr:"
	sed 's/^/       | /' "$T/container.log" | head -20
}

cleanup() {
	trap - EXIT INT TERM
	if [ -d "$STATE" ]; then
		runc_ kill "$NAME" KILL >/dev/null 2>&1
		runc_ delete -f "$NAME" >/dev/null 2>&1
	fi
	if [ -n "$RUNC_PID" ]; then
		kill -TERM "$RUNC_PID" 2>/dev/null
		wait_until 5 eval '! alive '"$RUNC_PID"
		kill -KILL "$RUNC_PID" 2>/dev/null
	fi
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 1' INT TERM

# ---------------------------------------------------------- the root fs

# add_binary file dest: the file at dest in the root file system, and
# every shared library ldd names for it, at the path ldd names.
add_binary() {
	local lib
	mkdir -p "$ROOTFS$(dirname "$2")"
	cp "$1" "$ROOTFS$2" && chmod 755 "$ROOTFS$2" || return 1
	for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$ROOTFS$lib" ] && continue
		mkdir -p "$ROOTFS$(dirname "$lib")"
		cp -L "$lib" "$ROOTFS$lib" || return 1
	done
}

# The stand-in of the self-test: a fixed finger server in busybox sh,
# installed as /usr/sbin/fingerd so that the bundle is the same.
add_standin() {
	local busybox
	busybox=$(command -v busybox) || return 1
	add_binary "$busybox" /bin/busybox || return 1
	ln -s busybox "$ROOTFS/bin/sh"
	mkdir -p "$ROOTFS/usr/sbin"
	cat >"$ROOTFS/usr/sbin/fingerd" <<'EOF'
#!/bin/sh
# Self-test stand-in: not fingerd.  Serves alice's plan on port 79.
echo "fingerd: event=engine engine=epoll why=\"io_uring is refused: a seccomp profile refuses it with ENOSYS (self-test stand-in, not fingerd: busybox nc -ll)\"" >&2
busybox nc -ll -p 79 -e /usr/sbin/finger-reply &
nc=$!
trap 'kill $nc; echo "fingerd: event=stop signal=SIGTERM" >&2; exit 0' TERM
i=0
until busybox netstat -ltn | busybox grep -q ':79 '; do
	i=$((i + 1))
	[ $i -lt 100 ] || exit 1
	busybox sleep 0.1
done
echo "fingerd: event=start group=finger members=1 workers=1" >&2
wait
EOF
	cat >"$ROOTFS/usr/sbin/finger-reply" <<'EOF'
#!/bin/sh
IFS= read -r q
case $q in
alice*)
	printf 'Login: alice\tName: Alice Liddell\r\nPlan:\r\n'
	while IFS= read -r l; do printf '%s\r\n' "$l"; done </home/alice/.plan ;;
*)
	printf 'No such user\r\n' ;;
esac
EOF
	chmod 755 "$ROOTFS/usr/sbin/fingerd" "$ROOTFS/usr/sbin/finger-reply"
}

make_rootfs() {
	mkdir -p "$ROOTFS"/etc "$ROOTFS"/home/alice "$ROOTFS"/proc \
	    "$ROOTFS"/dev "$ROOTFS"/sys
	if [ -n "$SELFTEST" ]; then
		add_standin || return 1
	else
		add_binary "$FINGERD" /usr/sbin/fingerd || return 1
	fi
	cat >"$ROOTFS/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
alice:x:1001:1001:Alice Liddell,Room 1,555-0101,:/home/alice:/bin/sh
EOF
	printf 'root:x:0:\nalice:x:1001:\nfinger:x:79:alice\nnogroup:x:65534:\n' \
	    >"$ROOTFS/etc/group"
	printf 'passwd: files\ngroup: files\nshadow: files\n' \
	    >"$ROOTFS/etc/nsswitch.conf"
	printf 'Down the rabbit hole.\nCuriouser and curiouser!\n' \
	    >"$ROOTFS/home/alice/.plan"
	chmod 755 "$ROOTFS" "$ROOTFS/home" "$ROOTFS/home/alice"
	chmod 644 "$ROOTFS/etc/passwd" "$ROOTFS/etc/group" \
	    "$ROOTFS/etc/nsswitch.conf" "$ROOTFS/home/alice/.plan"
}

rootfs_list() {
	(cd "$ROOTFS" && find . -mindepth 1 -printf '%P\n' | sort)
}

REPLY_ALICE='Login: alice\tName: Alice Liddell\r\nPlan:\r\nDown the rabbit hole.\r\nCuriouser and curiouser!\r\n'
FINGER_ALICE='Login: alice\tName: Alice Liddell\nPlan:\nDown the rabbit hole.\nCuriouser and curiouser!\n'

# ------------------------------------------------------------- the test

test_container() {
	local pid status cg
	if [ -n "$SELFTEST" ]; then
		echo "# SELF-TEST: a busybox stand-in, not fingerd, in the same bundle"
	else
		echo "# fingerd ($FINGERD) in runc, Podman's default seccomp profile"
	fi
	if ! make_rootfs 2>"$T/rootfs.err"; then
		not_ok "the root file system is built"
		sed 's/^/       | /' "$T/rootfs.err"
		return
	fi
	rootfs_list >"$T/rootfs.want"
	if ! timeout -k 5 120 "$OCI_BUNDLE" "$ROOTFS" "$BUNDLE" \
	    /usr/sbin/fingerd -P 79 >"$T/oci-bundle.log" 2>&1; then
		not_ok "oci-bundle writes the bundle"
		sed 's/^/       | /' "$T/oci-bundle.log" | tail -10
		return
	fi
	ok "oci-bundle writes the bundle"
	# podman's failed start leaves its mount points (/etc/hosts,
	# /etc/resolv.conf, /etc/hostname, /etc/mtab, /run/.containerenv) in
	# the root: the bundle mounts none of them.
	rootfs_list | comm -13 "$T/rootfs.want" - | sort -r |
	    while read -r f; do
		if [ -d "$ROOTFS/$f" ] && [ ! -L "$ROOTFS/$f" ]; then
			rmdir "$ROOTFS/$f"
		else
			rm -f "$ROOTFS/$f"
		fi
	    done
	check "the root file system holds only what this script put there ($(wc -l <"$T/rootfs.want") entries)" \
	    eval "rootfs_list | cmp -s - '$T/rootfs.want'" ||
	    rootfs_list | diff "$T/rootfs.want" - | sed 's/^/       /'
	check "the bundle runs /usr/sbin/fingerd -P 79 as root, no other flag" \
	    python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
p = c["process"]
sys.exit(not (p["args"] == ["/usr/sbin/fingerd", "-P", "79"]
    and p["user"]["uid"] == 0 and p["terminal"] is False))' \
	    "$BUNDLE/config.json"
	# The premise: io_uring is refused (ENOSYS by default, no rule).
	check "its seccomp profile refuses io_uring with ENOSYS" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["linux"]["seccomp"]
named = [n for r in s["syscalls"] for n in r["names"] if "io_uring" in n]
sys.exit(not (s["defaultAction"] == "SCMP_ACT_ERRNO"
    and s.get("defaultErrnoRet") == 38 and not named))' \
	    "$BUNDLE/config.json"

	mkdir -p "$STATE"
	: >"$T/container.log"
	# Foreground runc in the background: it relays the container's
	# stdio through pipes and exits with the container's status.
	timeout -k 5 60 runc --root "$STATE" run --bundle "$BUNDLE" "$NAME" \
	    </dev/null >"$T/container.out" 2>"$T/container.log" &
	RUNC_PID=$!
	wait_until 15 eval "log_has '$T/container.log' \
	    '^fingerd: event=start group=finger ' || ! alive $RUNC_PID"
	if ! log_has "$T/container.log" '^fingerd: event=start group=finger '; then
		not_ok "fingerd starts in the container, no flag: 'serving group finger'"
		show_log
		if wait_until 5 eval '! alive '"$RUNC_PID"; then
			wait "$RUNC_PID"
			echo "       the container exited with status $?"
			RUNC_PID=
		fi
		check_deleted
		return
	fi
	ok "fingerd starts in the container, no flag: 'serving group finger'"
	log_text "$T/container.log" | sed -n '1,/^fingerd: event=start /p' \
	    >"$T/first"
	check "the log's first lines name the engine (/$ENGINE_RE/)" \
	    log_has "$T/first" "$ENGINE_RE" || show_log

	runc_ state "$NAME" >"$T/state.json" 2>&1
	pid=$(json_get pid <"$T/state.json")
	check "runc state: running, pid ${pid:-none}" eval \
	    "[ -n '$pid' ] && [ \"\$(json_get status <'$T/state.json')\" = running ]"
	check "  under a seccomp filter (Seccomp: 2)" \
	    grep -qE '^Seccomp:\s+2$' "/proc/${pid:-0}/status"
	if [ -n "$SELFTEST" ]; then
		skip "  it runs as nobody (the stand-in stays root)"
	else
		check "  it runs as nobody (uid and gid 65534 in every slot)" eval \
		    "grep -qE '^Uid:\s+65534\s+65534\s+65534\s+65534$' /proc/${pid:-0}/status &&
		    grep -qE '^Gid:\s+65534\s+65534\s+65534\s+65534$' /proc/${pid:-0}/status"
	fi

	printf 'alice\r\n' | timeout 10 nc -w 5 127.0.0.1 79 >"$T/r.alice" 2>&1
	expect_bytes "from outside: nc 127.0.0.1 79, alice's reply byte for byte" \
	    "$T/r.alice" "$REPLY_ALICE"
	if command -v finger >/dev/null; then
		timeout 10 finger alice@127.0.0.1 >"$T/f.alice" 2>&1
		expect_bytes "from outside: finger alice@127.0.0.1 shows her plan" \
		    "$T/f.alice" "$FINGER_ALICE"
	else
		not_ok "finger is not installed: apt-get install finger netbase"
	fi

	runc_ kill "$NAME" TERM
	if wait_until 10 eval '! alive '"$RUNC_PID"; then
		wait "$RUNC_PID"
		status=$?
		RUNC_PID=
	else
		status=none
	fi
	check "runc kill TERM: the container exits, status 0 (got $status)" \
	    [ "$status" = 0 ] || show_log
	check_deleted
}

# runc delete -f; then neither the container nor its cgroup is left.
check_deleted() {
	local cg
	runc_ delete -f "$NAME" >/dev/null 2>&1
	check "the container is deleted" eval "! runc_ state '$NAME' >/dev/null 2>&1"
	cg=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["linux"]["cgroupsPath"].strip("/"))' \
	    "$BUNDLE/config.json" 2>/dev/null)
	check "  and its cgroup (${cg:-none}) removed" eval \
	    "[ -n '$cg' ] && ! ls -d /sys/fs/cgroup/$cg /sys/fs/cgroup/*/$cg >/dev/null 2>&1"
}

began=$SECONDS
test_container
echo "# ($((SECONDS - began)) s)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
