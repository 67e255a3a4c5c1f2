#!/bin/bash
# tests/system/test_userdb.sh: fingerd against real user databases, not a fixture.
#
#   libnss-extrausers: /var/lib/extrausers/passwd and group
#   LDAP: Debian's slapd with a database of its own, read through nslcd
#   and libnss-ldapd
#
# For each source: the group finger holds alice (home /srv/a/alice);
# fingerd serves her plan; carol (home /srv/b/carol, a directory no
# member had before) joins, SIGHUP, her plan is served; alice leaves,
# SIGHUP, she is "No such user"; SIGTERM, exit status 0.
#
# Run as root from anywhere: tests/system/test_userdb.sh.  The machine's own
# configuration is never touched: everything runs in private mount,
# network and PID namespaces (unshare -m -n -p), where tmpfs and bind
# mounts give /etc/nsswitch.conf, /etc/nslcd.conf, /var/lib/extrausers,
# /run/nslcd and /srv their test contents; slapd listens on
# 127.0.0.1:3389 of that network namespace only.  When the namespace's
# first process ends, the kernel kills every process left in it.  The
# last checks compare the host's copies of those files before and after.
# Environment:
#
#   FINGERD=path       the binary under test (default ./fingerd)
#   USERDB_TRACE=1     trace every command, with a timestamp
#
# Needs (Debian): libnss-extrausers slapd ldap-utils nslcd libnss-ldapd
# netcat-openbsd iproute2 util-linux.  Installing slapd and nslcd asks
# debconf questions and starts services: see the end of this comment.
# Prints one line per check and ends with "N passed, N failed"; the exit
# status is 1 when anything failed.  It takes about 1 s (at most 120).
#
# Installing the packages without side effects on the machine:
#
#   printf '%s\n' 'slapd slapd/no_configuration boolean true' \
#       'libnss-ldapd libnss-ldapd/nsswitch multiselect ' |
#       debconf-set-selections
#   printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d  # if missing
#   chmod 755 /usr/sbin/policy-rc.d
#   DEBIAN_FRONTEND=noninteractive apt-get install -y \
#       --no-install-recommends libnss-extrausers slapd ldap-utils \
#       nslcd libnss-ldapd
#   rm /usr/sbin/policy-rc.d                               # if added
#
# (no slapd database of its own, nsswitch.conf left alone, neither slapd
# nor nslcd started on the machine).

set -u
[ -n "${USERDB_TRACE:-}" ] && { PS4='+ $EPOCHREALTIME '; set -x; }

cd "$(dirname "$0")/../.." || exit 1
. tests/harness/checks.sh
fingerd_found

passed=0
failed=0

# The files this test must not change on the machine (read from the
# outside, or through /proc/PID/root), and its own paths in /run.
host_state() {
	local root=$1 p
	for p in /etc/passwd /etc/group /etc/shadow /etc/gshadow \
	    /etc/nsswitch.conf /etc/nslcd.conf /etc/ldap \
	    /var/lib/extrausers /srv /run/nslcd /run/slapd; do
		if [ ! -e "$root$p" ]; then
			echo "$p: absent"
			continue
		fi
		(cd "$root" && find ".$p" -xdev -printf '%p %M %u %g %s %T@\n' |
		    sort && find ".$p" -xdev -type f -exec md5sum {} + | sort)
	done
	# /run's top level may change under other programs: only what
	# this test could create there.
	find "$root/run/" -maxdepth 1 \( -name '*nslcd*' -o -name '*slapd*' \
	    -o -name '*ldap*' -o -name '*nscd*' \) -printf '%P\n' | sort
	findmnt -rn -o TARGET 2>/dev/null | grep -E \
	    '^/(etc/nsswitch.conf|etc/nslcd.conf|var/lib/extrausers|srv|run)(/|$)'
}

# --------------------------------------------- outside: the namespaces

if [ -z "${FINGERD_USERDB_NS:-}" ]; then
	needs_root "namespaces, slapd, nslcd"
	timeout 10 unshare -m -n -p -f --mount-proc true ||
	    bail "unshare -m -n -p: cannot create the namespaces"
	S=$(mktemp -d /tmp/fingerd-userdb.XXXXXX) || exit 1
	trap 'rm -rf "$S"' EXIT
	mkdir "$S/ns"
	host_state / >"$S/before"
	# --kill-child: if unshare dies, so does the namespace's init, and
	# with it every process left in the namespace.  In the background,
	# so that a signal to this script ends it at once.
	timeout -k 5 120 unshare -m -n -p -f --mount-proc --kill-child \
	    env FINGERD_USERDB_NS="$S" FINGERD="$FINGERD" bash "$0" "$@" &
	NS_PID=$!
	trap 'kill -TERM "$NS_PID" 2>/dev/null; wait "$NS_PID"
	    echo "interrupted"; exit 1' INT TERM
	wait "$NS_PID"
	status=$?
	if [ -s "$S/counts" ]; then
		read -r passed failed completed <"$S/counts"
		[ "$completed" = yes ] ||
		    not_ok "the namespace's part ran to its end (status $status)"
	else
		not_ok "the namespace's part ended within 120 s and counted (status $status)"
	fi
	echo "# the machine"
	host_state / >"$S/after"
	check "the machine's nsswitch.conf, nslcd.conf, /etc/ldap, extrausers, /srv and /run/nslcd are unchanged" \
	    cmp -s "$S/before" "$S/after" ||
	    diff "$S/before" "$S/after" | head -20 | sed 's/^/       /'
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
fi

# ------------------------------------------ inside: setup and helpers

S=$FINGERD_USERDB_NS
T=$S/ns
DAEMONS=()

cleanup() {
	local p
	trap - EXIT INT TERM
	for p in "${DAEMONS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${DAEMONS[@]}"; do
		for _ in $(seq 20); do alive "$p" || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	echo "$passed $failed ${COMPLETED:-no}" >"$S/counts"
	# The mounts, tmpfs and all, go with the namespace.
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 1' INT TERM

# start name command...: in the background, stderr and stdout to
# $T/name.log; $PID.
start() {
	local name=$1
	shift
	: >"$T/$name.log"
	"$@" </dev/null >>"$T/$name.log" 2>&1 &
	PID=$!
	DAEMONS+=("$PID")
}

# query 'text' > reply: one exchange with fingerd, on 127.0.0.1:7979.
query() {
	printf '%s\r\n' "$1" | timeout 10 nc -w 5 127.0.0.1 7979
}

# reply_is 'query' 'expected bytes': polls (up to 5 s) until it is.
reply_is() {
	query "$1" >"$T/reply"
	printf '%b' "$2" | cmp -s - "$T/reply"
}

if ! mount --make-rprivate / || ! mount -t tmpfs -o mode=755 tmpfs "$T"; then
	echo "FAIL - cannot mount a tmpfs in the mount namespace"
	exit 1
fi
if ! timeout 5 ip link set lo up; then
	not_ok "ip link set lo up (iproute2)"
	exit 1
fi

# The homes: /srv/a now, /srv/b only when carol joins (fresh per source).
fresh_srv() {
	mountpoint -q /srv && umount /srv
	mount -t tmpfs -o mode=755 tmpfs /srv &&
	    mkdir -p /srv/a/alice &&
	    printf 'Down the rabbit hole.\nCuriouser and curiouser!\n' \
		>/srv/a/alice/.plan &&
	    chmod 755 /srv/a /srv/a/alice && chmod 644 /srv/a/alice/.plan
}

carol_home() {
	mkdir -p /srv/b/carol &&
	    printf 'Jam to-morrow and jam yesterday,\nbut never jam to-day.' \
		>/srv/b/carol/.plan &&
	    chmod 755 /srv/b /srv/b/carol && chmod 644 /srv/b/carol/.plan
}

REPLY_ALICE='Login: alice\tName: Alice Liddell\r\nPlan:\r\nDown the rabbit hole.\r\nCuriouser and curiouser!\r\n'
REPLY_CAROL='Login: carol\tName: Carol Lewis\r\nPlan:\r\nJam to-morrow and jam yesterday,\r\nbut never jam to-day.\r\n'
REPLY_CAROL_NO_PLAN='Login: carol\tName: Carol Lewis\r\nNo Plan.\r\n'
REPLY_NO_SUCH='No such user\r\n'

# /etc/group or /etc/passwd may know finger, alice or carol: then the
# "files" source would answer first.  Copies without them are bound
# over the originals, in the namespace only.
for db in passwd group; do
	grep -vE '^(finger|alice|carol):' "/etc/$db" >"$T/etc.$db"
	chmod 644 "$T/etc.$db"
	if ! cmp -s "/etc/$db" "$T/etc.$db"; then
		mount --bind "$T/etc.$db" "/etc/$db"
	fi
done

# nsswitch SOURCE: /etc/nsswitch.conf says passwd and group: files SOURCE.
nsswitch() {
	mountpoint -q /etc/nsswitch.conf && umount /etc/nsswitch.conf
	printf 'passwd: files %s\ngroup: files %s\nshadow: files\nhosts: files\n' \
	    "$1" "$1" >"$T/nsswitch.$1"
	chmod 644 "$T/nsswitch.$1"
	mount --bind "$T/nsswitch.$1" /etc/nsswitch.conf
}

# The flow, the same for each source.  The functions it is given:
# $1 add_carol (carol's account and membership), $2 remove_alice.
serve_flow() {
	local log=$T/fingerd.$SOURCE.log failed_before=$failed
	SHOW_LOGS=
	FPID=
	serve_steps "$@"
	# A daemon a failed step left running: stopped before the next source.
	if [ -n "$FPID" ] && alive "$FPID"; then
		kill -KILL "$FPID"
		wait_exit "$FPID" 5
	fi
	if [ "$failed" -gt "$failed_before" ]; then
		sleep 0.1	# fingerd writes its log every 10 ms
		echo "       log fingerd ($SOURCE):"
		sed 's/^/       | /' "$log"
	fi
}

serve_steps() {
	local add_carol=$1 remove_alice=$2 pid log=$T/fingerd.$SOURCE.log
	start "fingerd.$SOURCE" "$FINGERD" -P 7979 -B 127.0.0.1 -g finger \
	    -u nobody
	pid=$PID FPID=$PID
	if ! wait_until 10 log_has "$log" '^fingerd: event=start group=finger members=1 workers=[0-9]+$'; then
		not_ok "fingerd starts: serving group finger (1 member)"
		return
	fi
	ok "fingerd starts: serving group finger (1 member)"
	query alice >"$T/r.alice"
	expect_bytes "a. alice: her plan, exactly" "$T/r.alice" "$REPLY_ALICE"

	if ! carol_home || ! $add_carol; then
		not_ok "b. carol joins the group in the $SOURCE source"
		return
	fi
	ok "b. carol joins the group in the $SOURCE source"
	check "b. carol's plan is readable by nobody (outside fingerd)" eval \
	    "setpriv --reuid=65534 --regid=65534 --clear-groups \
	    cat /srv/b/carol/.plan >/dev/null"
	kill -HUP "$pid"
	if wait_until 5 log_has "$log" '^fingerd: event=reload group=finger members=2 generation=[0-9]+ why=[a-z-]+$'; then
		ok "b. SIGHUP: group finger has 2 members"
	else
		not_ok "b. SIGHUP: group finger has 2 members"
	fi
	wait_until 5 eval 'query carol | grep -q "^Login: carol"'
	query carol >"$T/r.carol"
	check "b. carol is served after SIGHUP (her Login line)" \
	    grep -q '^Login: carol' "$T/r.carol"
	if ! expect_bytes "b. carol (home in /srv/b, new since the start): her plan, exactly" \
	    "$T/r.carol" "$REPLY_CAROL"; then
		if printf '%b' "$REPLY_CAROL_NO_PLAN" | cmp -s - "$T/r.carol"; then
			echo "       (carol got \"No Plan.\": /srv/b is outside the sandbox fixed at the start)"
		fi
	fi

	if ! $remove_alice; then
		not_ok "c. alice leaves the group in the $SOURCE source"
		return
	fi
	ok "c. alice leaves the group in the $SOURCE source"
	kill -HUP "$pid"
	wait_until 5 log_has "$log" '^fingerd: event=reload group=finger members=1 generation=[0-9]+ why=[a-z-]+$'
	wait_until 5 reply_is alice "$REPLY_NO_SUCH"
	query alice >"$T/r.alice2"
	expect_bytes "c. after SIGHUP, alice: No such user" "$T/r.alice2" \
	    "$REPLY_NO_SUCH"
	query carol >"$T/r.carol2"
	check "c. carol is still served" grep -q '^Login: carol' "$T/r.carol2"

	kill -TERM "$pid"
	wait_exit "$pid" 10
	check "d. SIGTERM: exit status 0 (got $STATUS)" [ "$STATUS" = 0 ]
	check "every exchange is logged, with no error line" eval \
	    "log_has '$log' '^fingerd: client=127\.0\.0\.1 query=\"(alice|carol)\" ' 4 &&
	    ! grep -qiE 'error|denied|landlock' '$log'"
}

# ------------------------------------------------- 1. libnss-extrausers

EU=$T/extrausers
eu_passwd() {	# the members' accounts, written whole then renamed
	{
		echo 'alice:x:2001:100:Alice Liddell,Room 1,555-0101,:/srv/a/alice:/bin/sh'
		if [ "${1:-}" = carol ]; then
			echo 'carol:x:2002:100:Carol Lewis,,,:/srv/b/carol:/bin/sh'
		fi
	} >"$EU/passwd.new" && chmod 644 "$EU/passwd.new" &&
	    mv "$EU/passwd.new" "$EU/passwd"
}
eu_group() {	# eu_group members
	echo "finger:x:2079:$1" >"$EU/group.new" &&
	    chmod 644 "$EU/group.new" && mv "$EU/group.new" "$EU/group"
}
eu_add_carol() {
	eu_passwd carol && eu_group alice,carol
}
eu_remove_alice() {
	eu_group carol
}

test_extrausers() {
	SOURCE=extrausers
	echo "# 1. libnss-extrausers (/var/lib/extrausers)"
	if ! compgen -G '/usr/lib/libnss_extrausers.so.2' >/dev/null &&
	    ! compgen -G '/usr/lib/*/libnss_extrausers.so.2' >/dev/null ||
	    [ ! -d /var/lib/extrausers ]; then
		not_ok "libnss-extrausers is not installed: apt-get install libnss-extrausers"
		return
	fi
	mkdir -p "$EU" && chmod 755 "$EU"
	if ! { eu_passwd && eu_group alice && fresh_srv &&
	    mount --bind "$EU" /var/lib/extrausers && nsswitch extrausers; }; then
		not_ok "extrausers set up in the namespace"
		return
	fi
	check "getent passwd alice (extrausers)" eval \
	    "getent passwd alice | grep -qx 'alice:x:2001:100:Alice Liddell,Room 1,555-0101,:/srv/a/alice:/bin/sh'"
	check "getent group finger (extrausers)" eval \
	    "getent group finger | grep -qx 'finger:x:2079:alice'" ||
	    return
	serve_flow eu_add_carol eu_remove_alice
	umount /var/lib/extrausers
}

# ------------------------------------------- 2. slapd, nslcd, libnss-ldapd

LDAP_URI=ldap://127.0.0.1:3389/
BASE=dc=example,dc=org
ADMIN=cn=admin,$BASE

ldap() {	# ldap ldapadd|ldapmodify < ldif
	timeout 10 "$1" -x -H "$LDAP_URI" -D "$ADMIN" -w secret \
	    >>"$T/ldap-client.log" 2>&1
}

slapd_up() {	# its root DSE answers
	timeout 5 ldapsearch -x -H "$LDAP_URI" -b '' -s base \
	    namingContexts 2>/dev/null | grep -q "^namingContexts: $BASE"
}

start_slapd() {
	local schema=/etc/ldap/schema s
	mkdir -p "$T/ldap/db" && chmod 700 "$T/ldap/db"
	{
		for s in core cosine nis inetorgperson; do
			echo "include $schema/$s.schema"
		done
		cat <<EOF
pidfile $T/ldap/slapd.pid
argsfile $T/ldap/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "$BASE"
rootdn "$ADMIN"
rootpw secret
directory $T/ldap/db
index objectClass,uid,memberUid,cn eq
EOF
	} >"$T/ldap/slapd.conf"
	# -d stats: in the foreground, each operation logged.
	start slapd timeout -k 5 110 /usr/sbin/slapd -f "$T/ldap/slapd.conf" \
	    -h "$LDAP_URI" -d stats
	wait_until 10 slapd_up
}

start_nslcd() {
	cat >"$T/nslcd.conf" <<EOF
uid nslcd
gid nslcd
uri $LDAP_URI
base $BASE
# nslcd keeps no cache but this one (for member DNs): off all the same.
cache dn2uid 0
reconnect_invalidate passwd,group
EOF
	chown root:nslcd "$T/nslcd.conf" && chmod 640 "$T/nslcd.conf" &&
	    mount --bind "$T/nslcd.conf" /etc/nslcd.conf || return 1
	# /run/nslcd: a tmpfs of the namespace's.  Where the machine has no
	# /run/nslcd to mount it on, /run becomes an overlay (the upper
	# layer in our tmpfs) so that the mount point exists only here.
	if [ ! -d /run/nslcd ]; then
		mkdir -p "$T/run/upper" "$T/run/work" &&
		    mount -t overlay overlay -o \
		    "lowerdir=/run,upperdir=$T/run/upper,workdir=$T/run/work" \
		    /run && mkdir /run/nslcd || return 1
	fi
	mount -t tmpfs -o mode=755 tmpfs /run/nslcd &&
	    chown nslcd:nslcd /run/nslcd || return 1
	# -d: in the foreground, debugging to stderr.  nslcd binds its
	# socket as root, then becomes the uid and gid above.
	start nslcd timeout -k 5 110 /usr/sbin/nslcd -d
	wait_until 10 test -S /run/nslcd/socket
}

ldap_initial() {
	ldap ldapadd <<EOF
dn: $BASE
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,$BASE
objectClass: organizationalUnit
ou: people

dn: ou=groups,$BASE
objectClass: organizationalUnit
ou: groups

dn: uid=alice,ou=people,$BASE
objectClass: account
objectClass: posixAccount
uid: alice
cn: Alice
gecos: Alice Liddell,Room 1,555-0101,
uidNumber: 2001
gidNumber: 100
homeDirectory: /srv/a/alice
loginShell: /bin/sh

dn: cn=finger,ou=groups,$BASE
objectClass: posixGroup
cn: finger
gidNumber: 2079
memberUid: alice
EOF
}

ldap_add_carol() {
	ldap ldapadd <<EOF && ldap ldapmodify <<EOF2
dn: uid=carol,ou=people,$BASE
objectClass: account
objectClass: posixAccount
uid: carol
cn: Carol Lewis
uidNumber: 2002
gidNumber: 100
homeDirectory: /srv/b/carol
loginShell: /bin/sh
EOF
dn: cn=finger,ou=groups,$BASE
changetype: modify
add: memberUid
memberUid: carol
EOF2
}

ldap_remove_alice() {
	ldap ldapmodify <<EOF
dn: cn=finger,ou=groups,$BASE
changetype: modify
delete: memberUid
memberUid: alice
EOF
}

test_ldap() {
	SOURCE=ldap
	echo "# 2. LDAP: slapd on $LDAP_URI, nslcd, libnss-ldapd"
	local missing="" f
	for f in /usr/sbin/slapd /usr/sbin/nslcd /usr/bin/ldapadd; do
		[ -x "$f" ] || missing="$missing $f"
	done
	compgen -G '/usr/lib/*/libnss_ldap.so.2' >/dev/null ||
	    compgen -G '/lib/*/libnss_ldap.so.2' >/dev/null ||
	    missing="$missing libnss_ldap.so.2"
	[ -f /etc/nslcd.conf ] || missing="$missing /etc/nslcd.conf"
	if [ -n "$missing" ]; then
		not_ok "missing:$missing: apt-get install slapd ldap-utils nslcd libnss-ldapd"
		return
	fi
	SHOW_LOGS="$T/slapd.log"
	check "slapd starts with its own slapd.conf and database" start_slapd ||
	    return
	SHOW_LOGS="$T/slapd.log $T/ldap-client.log"
	check "ldapadd: the organisation, alice (posixAccount), the posixGroup finger" \
	    ldap_initial || return
	SHOW_LOGS="$T/nslcd.log"
	check "nslcd starts on /run/nslcd/socket (a tmpfs in the namespace)" \
	    start_nslcd || return
	if ! { fresh_srv && nsswitch ldap; }; then
		not_ok "LDAP set up in the namespace"
		return
	fi
	SHOW_LOGS="$T/nslcd.log $T/slapd.log"
	check "getent passwd alice (ldap)" eval \
	    "getent passwd alice | grep -qE '^alice:[^:]*:2001:100:Alice Liddell,Room 1,555-0101,:/srv/a/alice:/bin/sh$'" ||
	    getent passwd alice | sed 's/^/       got: /'
	check "getent group finger (ldap)" eval \
	    "getent group finger | grep -qE '^finger:[^:]*:2079:alice$'" || {
		getent group finger | sed 's/^/       got: /'
		return
	}
	serve_flow ldap_add_carol ldap_remove_alice
}

# ------------------------------------ 3. files, followed with no signal

# Seconds since $1 (an $EPOCHREALTIME), in milliseconds.
ms_since() {
	local now=$EPOCHREALTIME
	echo $(( (${now/./} - ${1/./}) / 1000 ))
}

# served_within "what" login 'reply': polls until the reply is exact;
# passes when it came within 2 s of the change (made just before).
served_within() {
	local began=$EPOCHREALTIME ms
	wait_until 4 reply_is "$2" "$3"
	ms=$(ms_since "$began")
	query "$2" >"$T/r.follow"
	if cmp -s "$T/r.follow" <(printf '%b' "$3") && [ "$ms" -le 2000 ]; then
		ok "$1 (served after $ms ms)"
	else
		not_ok "$1 within 2 s (after $ms ms)"
		od -c "$T/r.follow" | head -6 | sed 's/^/       got: /'
	fi
}

# A load of queries for alice while the database changes: every reply
# must be one of hers (her plan, or "No such user" once she left); an
# empty one is a connection refused or reset.
load_start() {
	: >"$T/load.bad"
	(
		end=$((SECONDS + 30))
		while [ -f "$T/load.on" ] && [ $SECONDS -lt $end ]; do
			query alice >"$T/load.reply"
			if ! cmp -s "$T/load.reply" <(printf '%b' "$REPLY_ALICE") &&
			    ! cmp -s "$T/load.reply" <(printf '%b' "$REPLY_NO_SUCH"); then
				od -c "$T/load.reply" | head -3 >>"$T/load.bad"
			fi
			echo >>"$T/load.count"
		done
	) &
	LOAD_PID=$!
}

follow_flow() {
	local engine=$1 log=$T/fingerd.files.$1.log pid workers
	REPLY_CAROL_L='Login: carol\tName: Carol L.\r\nPlan:\r\nJam to-morrow and jam yesterday,\r\nbut never jam to-day.\r\n'
	REPLY_CAROL_MOVED='Login: carol\tName: Carol L.\r\nPlan:\r\nMoved to /srv/c.\r\n'
	SHOW_LOGS=$log
	start "fingerd.files.$engine" "$FINGERD" -P 7979 -B 127.0.0.1 \
	    -g finger -u nobody -E "$engine" -R 2
	pid=$PID
	if ! wait_until 10 log_has "$log" '^fingerd: event=start group=finger members=1 workers=[0-9]+$'; then
		not_ok "$engine: fingerd starts: serving group finger (1 member)"
		return
	fi
	ok "$engine: fingerd starts: serving group finger (1 member)"
	: >"$T/load.count"
	touch "$T/load.on"
	load_start
	gpasswd -a carol finger >/dev/null
	served_within "$engine: gpasswd -a carol finger, no signal: her plan" \
	    carol "$REPLY_CAROL"
	chfn -f 'Carol L.' carol
	served_within "$engine: chfn -f 'Carol L.' carol, no signal: the new name" \
	    carol "$REPLY_CAROL_L"
	usermod -d /srv/c/carol carol
	served_within "$engine: usermod -d /srv/c/carol carol, no signal: the plan in the new home" \
	    carol "$REPLY_CAROL_MOVED"
	gpasswd -d alice finger >/dev/null
	served_within "$engine: gpasswd -d alice finger, no signal: No such user" \
	    alice "$REPLY_NO_SUCH"
	rm -f "$T/load.on"
	wait "$LOAD_PID"
	check "$engine: $(wc -l <"$T/load.count") queries under the changes, each one of alice's replies (none refused, reset or wrong)" \
	    eval '[ ! -s "$T/load.bad" ] && [ "$(wc -l <"$T/load.count")" -ge 10 ]' ||
	    sed 's/^/       /' "$T/load.bad" | head -6
	workers=$(pgrep -P "$pid" | sort | tr '\n' ' ')
	sleep 4.2
	check "$engine: -R 2, two readings that find nothing new start no worker ($workers)" \
	    [ "$workers" = "$(pgrep -P "$pid" | sort | tr '\n' ' ')" ]
	check "$engine: each change logged as such" log_has "$log" \
	    '^fingerd: event=reload group=finger members=[12] generation=[0-9]+ why=userdb-(changed|reread)$' 4
	kill -TERM "$pid"
	wait_exit "$pid" 10
	check "$engine: SIGTERM: exit status 0 (got $STATUS)" [ "$STATUS" = 0 ]
	# As it was, for the next engine.
	gpasswd -a alice finger >/dev/null && gpasswd -d carol finger >/dev/null &&
	    chfn -f 'Carol Lewis' carol && usermod -d /srv/b/carol carol
}

test_files() {
	SOURCE=files
	echo "# 3. files: gpasswd, chfn, usermod -d with no signal, under load"
	local db
	for db in passwd group; do
		mountpoint -q "/etc/$db" && umount "/etc/$db"
	done
	mountpoint -q /etc/nsswitch.conf && umount /etc/nsswitch.conf
	# A copy of /etc, as the shadow tools rename files in it.
	if ! cp -a /etc "$T/etc" || ! mount --bind "$T/etc" /etc; then
		not_ok "a copy of /etc mounted over it"
		return
	fi
	printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' \
	    >/etc/nsswitch.conf
	for db in passwd group shadow gshadow; do
		[ -f "/etc/$db" ] && sed -i -E '/^(finger|alice|carol):/d' "/etc/$db"
	done
	if ! fresh_srv || ! carol_home || ! mkdir -p /srv/c/carol ||
	    ! printf 'Moved to /srv/c.\n' >/srv/c/carol/.plan ||
	    ! chmod 755 /srv/c /srv/c/carol ||
	    ! groupadd -g 2079 finger ||
	    ! useradd -M -N -g 100 -u 2001 -d /srv/a/alice \
		-c 'Alice Liddell,Room 1,555-0101,' alice ||
	    ! useradd -M -N -g 100 -u 2002 -d /srv/b/carol \
		-c 'Carol Lewis' carol ||
	    ! gpasswd -a alice finger >/dev/null; then
		not_ok "the accounts made with groupadd, useradd and gpasswd"
		return
	fi
	follow_flow io_uring
	follow_flow epoll
}

for t in test_extrausers test_ldap test_files; do
	began=$SECONDS
	$t
	echo "# ($((SECONDS - began)) s)"
done
COMPLETED=yes
