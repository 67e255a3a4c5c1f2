#!/bin/bash
# tests/system/test_haproxy.sh: fingerd behind the proxies real sites put in
# front of port 79, each speaking the PROXY protocol: HAProxy 2.6 with
# send-proxy (v1) and send-proxy-v2, and nginx's stream module with
# proxy_protocol on (v1).  fingerd runs with -p 127.0.0.9, the address
# the proxies connect from; clients connect to the proxies from
# 127.0.0.2 to 127.0.0.6.  Checked, under each engine: every reply
# byte for byte; the log names the real client, never the proxy; -a
# limits each real client, and one that holds its share locks no other
# out; a connection from the proxy's address with no header gets nothing.
#
# Run as root: tests/system/test_haproxy.sh (FINGERD=path, default ./fingerd).
# Everything runs in a network namespace of its own (unshare -n), on its
# loopback; nothing on the machine is touched.  Needs haproxy, nginx-light
# and libnginx-mod-stream (Debian), netcat-openbsd, libnss-wrapper.
# Prints one line per check and ends with "N passed, N failed".  About
# 10 s.

set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/harness/checks.sh
fingerd_found
needs_root "a network namespace"
in_netns FINGERD_HAPROXY_NETNS 120

scratch haproxy
PIDS=()

cleanup() {
	local p
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 1' INT TERM

start() {	# start name command...: in the background, its log $T/name.log
	local name=$1
	shift
	"$@" </dev/null >"$T/$name.log" 2>&1 &
	PID=$!
	PIDS+=("$PID")
}

NSS_LIB=${NSS_WRAPPER_LIB:-}
[ -n "$NSS_LIB" ] || NSS_LIB=$(ls /usr/lib/*/libnss_wrapper.so 2>/dev/null |
    head -1)
missing=""
for c in haproxy nginx nc; do
	command -v "$c" >/dev/null || missing="$missing $c"
done
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] ||
    missing="$missing libnginx-mod-stream"
[ -n "$NSS_LIB" ] || missing="$missing libnss-wrapper"
if [ -n "$missing" ]; then
	not_ok "missing:$missing (apt-get install haproxy nginx-light libnginx-mod-stream netcat-openbsd libnss-wrapper)"
	echo "$passed passed, $failed failed"
	exit 1
fi

# The user database (nss_wrapper) and alice's plan.
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' \
    "alice:x:1001:1001:Alice Liddell:$T/home/alice:/bin/sh" >"$T/passwd"
printf '%s\n' 'root:x:0:' 'finger:x:79:alice' 'nogroup:x:65534:' >"$T/group"
mkdir -p "$T/home/alice"
printf 'Down the rabbit hole.\n' >"$T/home/alice/.plan"
chmod 755 "$T/home" "$T/home/alice"
chmod 644 "$T/passwd" "$T/group" "$T/home/alice/.plan"
REPLY_ALICE='Login: alice\tName: Alice Liddell\r\nPlan:\r\nDown the rabbit hole.\r\n'
REPLY_TOO_MANY='Too many connections from your address\r\n'

cat >"$T/haproxy.cfg" <<EOF
global
	maxconn 200
defaults
	mode tcp
	timeout connect 2s
	timeout client 20s
	timeout server 20s
frontend v1
	bind 127.0.0.1:7901
	default_backend fingerd_v1
backend fingerd_v1
	server fingerd 127.0.0.1:7979 send-proxy source 127.0.0.9
frontend v2
	bind 127.0.0.1:7902
	default_backend fingerd_v2
backend fingerd_v2
	server fingerd 127.0.0.1:7979 send-proxy-v2 source 127.0.0.9
EOF
cat >"$T/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
master_process off;
pid $T/nginx.pid;
error_log $T/nginx.err;
events {}
stream {
	server {
		listen 127.0.0.1:7903;
		proxy_pass 127.0.0.1:7979;
		proxy_protocol on;
		proxy_bind 127.0.0.9;
	}
}
EOF

# query from port name: a query from the address from, through port.
query() {
	printf '%s\r\n' "$3" | timeout 10 nc -w 5 -s "$1" 127.0.0.1 "$2"
}

start haproxy haproxy -f "$T/haproxy.cfg" -db
start nginx nginx -e "$T/nginx.err" -p "$T" -c "$T/nginx.conf"
if ! wait_until 10 eval 'ss -ltn | grep -q 127.0.0.1:7903 &&
    ss -ltn | grep -q 127.0.0.1:7902'; then
	SHOW_LOGS="$T/haproxy.log $T/nginx.log $T/nginx.err"
	not_ok "haproxy and nginx listen"
	echo "$passed passed, $failed failed"
	exit 1
fi
ok "haproxy $(haproxy -v | sed -n 's/^HAProxy version \([^ ]*\).*/\1/p') and nginx $(nginx -v 2>&1 | sed 's|.*/||') listen, in front of 127.0.0.1:7979"

behind() {	# behind engine [activated]: -E engine, or systemd's socket
	local engine=$1 log=$T/fingerd.$1${2:-}.log pid held=() i launch=()
	echo "# -E $engine${2:+, the socket passed as systemd does}"
	SHOW_LOGS=$log
	[ -n "${2:-}" ] && launch=(systemd-socket-activate -l 127.0.0.1:7979)
	# systemd-socket-activate passes on no environment: env sets it.
	start "fingerd.$engine${2:-}" "${launch[@]}" env \
	    ASAN_OPTIONS="${ASAN_OPTIONS:-}" LSAN_OPTIONS="${LSAN_OPTIONS:-}" \
	    UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" LD_PRELOAD="$NSS_LIB" \
	    NSS_WRAPPER_PASSWD="$T/passwd" NSS_WRAPPER_GROUP="$T/group" \
	    "$FINGERD" -E "$engine" -B 127.0.0.1 -P 7979 -p 127.0.0.9 \
	    -a 2 -t 8
	pid=$PID
	# systemd-socket-activate starts fingerd at the first connection.
	[ -n "${2:-}" ] && wait_until 5 eval 'ss -ltn | grep -q 127.0.0.1:7979' &&
	    printf 'PROXY TCP4 127.0.0.7 127.0.0.1 1 79\r\nalice\r\n' |
	    timeout 5 nc -w 3 -s 127.0.0.9 127.0.0.1 7979 >"$T/r.first"
	if ! wait_until 10 log_has "$log" '^fingerd: event=start '; then
		not_ok "fingerd -E $engine -p 127.0.0.9 starts"
		return
	fi
	if [ -n "${2:-}" ]; then
		check "  on the socket passed (event=listen address=systemd)" \
		    log_has "$log" '^fingerd: event=listen address=systemd$'
		expect_bytes "  its first connection, a header naming 127.0.0.7: alice's plan" \
		    "$T/r.first" "$REPLY_ALICE"
	fi
	query 127.0.0.2 7901 alice >"$T/r.v1"
	expect_bytes "HAProxy send-proxy (v1): alice's plan" "$T/r.v1" \
	    "$REPLY_ALICE"
	query 127.0.0.3 7902 alice >"$T/r.v2"
	expect_bytes "HAProxy send-proxy-v2: alice's plan" "$T/r.v2" \
	    "$REPLY_ALICE"
	query 127.0.0.4 7903 alice >"$T/r.nginx"
	expect_bytes "nginx stream, proxy_protocol on: alice's plan" \
	    "$T/r.nginx" "$REPLY_ALICE"
	check "  the log names each real client (127.0.0.2, .3, .4)" \
	    wait_until 3 eval "log_has '$log' '^fingerd: client=127\\.0\\.0\\.2 query=\"alice\" reply=plan end=ok ' &&
	    log_has '$log' '^fingerd: client=127\\.0\\.0\\.3 query=\"alice\" reply=plan end=ok ' &&
	    log_has '$log' '^fingerd: client=127\\.0\\.0\\.4 query=\"alice\" reply=plan end=ok '"
	check "  and never the proxy" eval \
	    "! log_has '$log' '^fingerd: client=127\\.0\\.0\\.9 '"
	# 127.0.0.5 holds its two (-a 2) through HAProxy, silent.
	for i in 1 2; do
		timeout 20 nc -d -s 127.0.0.5 127.0.0.1 7901 >"$T/held.$i" &
		held+=($!)
	done
	# Both counted: fingerd's ends of them taken and their headers read
	# (nothing left in their receive queues), not a fixed wait that a
	# loaded machine outlasts (HAProxy connected one after the third).
	wait_until 10 headers_read 2
	query 127.0.0.5 7902 alice >"$T/r.third"
	expect_bytes "-a 2: a third connection of 127.0.0.5 gets the error line" \
	    "$T/r.third" "$REPLY_TOO_MANY"
	query 127.0.0.6 7901 alice >"$T/r.other"
	expect_bytes "  while 127.0.0.6, behind the same proxy, is served" \
	    "$T/r.other" "$REPLY_ALICE"
	check "  logged as 127.0.0.5's" wait_until 3 log_has "$log" \
	    '^fingerd: client=127\.0\.0\.5 query="" reply=too-many-from-address '
	kill "${held[@]}" 2>/dev/null
	printf 'alice\r\n' | timeout 10 nc -w 5 -s 127.0.0.9 127.0.0.1 7979 \
	    >"$T/r.bare"
	check "from the proxy's address with no header: no reply" \
	    [ ! -s "$T/r.bare" ]
	check "  logged bad-proxy" wait_until 3 log_has "$log" \
	    '^fingerd: client=127\.0\.0\.9 query="alice[^"]*" reply=none why=[a-z0-9-]+ end=bad-proxy '
	kill -TERM "$pid"
	wait_until 10 eval '! alive '"$pid"
	wait "$pid"
	check "SIGTERM: exit status 0 (got $?)" [ $? = 0 ]
}

# headers_read N: N connections to fingerd's port, accepted and their
# PROXY headers read: established, with empty receive queues (one still
# in the listener's queue, or not yet read, holds its header there).
headers_read() {
	[ "$(ss -Htn state established '( sport = :7979 )' |
	    awk '$1 == 0' | wc -l)" -ge "$1" ]
}

behind io_uring
behind epoll
command -v systemd-socket-activate >/dev/null &&
    behind io_uring .activated
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
