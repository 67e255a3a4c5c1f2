/*
 * fingerd: a finger daemon (RFC 1288) for the members of one Unix group,
 * each worker one single-threaded event loop on io_uring, or on epoll
 * where io_uring is refused (engine.h).
 *
 * main() is the program's setup: the options, the listening sockets (or
 * systemd's), the switch to -u; then the supervisor (supervisor.c) reads
 * the group and starts the workers (worker.c), or, with -i, this one
 * process reads it and serves the connection on stdin.  A worker, an
 * exec of this binary by the supervisor, goes straight to worker.c.
 */
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <liburing.h>

#include "fingerd.h"

#define USAGE \
	"usage: fingerd [-hVinl] [-B addr] [-P port] [-g group] [-u user] " \
	"[-t seconds]\n" \
	"               [-c clients] [-a per-address] [-m bytes] " \
	"[-w workers]\n" \
	"               [-E engine] [-R seconds] [-M file] [-p prefix ...]\n"

#define HELP \
	"  -B addr        address to bind, IPv4 or IPv6 (default: all, " \
	"dual-stack)\n" \
	"  -P port        TCP port (default 79; 0 picks a free one)\n" \
	"  -g group       group whose members may be fingered " \
	"(default finger)\n" \
	"  -u user        account to run as when started as root " \
	"(default nobody)\n" \
	"  -t seconds     deadline of a whole exchange (default 10)\n" \
	"  -c clients     most connections served at once (default 1024)\n" \
	"  -a per-address most connections at once from one address " \
	"(default 16)\n" \
	"  -m bytes       most bytes of a .plan sent (default 1048576)\n" \
	"  -n             refuse the empty query (no member list)\n" \
	"  -w workers     worker processes, each its own loop (default 1)\n" \
	"  -E engine      io_uring, epoll, or auto: io_uring where the " \
	"kernel allows\n" \
	"                 it, else epoll (default auto)\n" \
	"  -R seconds     read the user database again this often where its " \
	"files\n" \
	"                 cannot be watched (LDAP, SSSD); 0: on SIGHUP only " \
	"(default 60)\n" \
	"  -M file        counters in Prometheus text format, for " \
	"node_exporter's\n" \
	"                 textfile collector: replaced every 10 s and at " \
	"SIGUSR1\n" \
	"  -p prefix      connections from this address or prefix (IPv4 or " \
	"IPv6,\n" \
	"                 e.g. 10.0.0.0/8, ::1) come through a proxy and " \
	"begin with\n" \
	"                 a PROXY protocol header, v1 or v2 (repeatable, " \
	"64 at most)\n" \
	"  -i             inetd mode: serve the connection on stdin, " \
	"then exit\n" \
	"  -l             log to syslog (facility daemon) instead of " \
	"stderr; the\n" \
	"                 default with -i when stderr is the client's " \
	"socket\n" \
	"  -V             print the version and exit\n" \
	"  -h             print this help and exit\n"

_Static_assert(PROXY_PREFIXES_MAX == 64, "HELP says -p takes 64 at most");

/* Where fingerd listens, logged once the group is known to exist. */
static char listen_where[INET6_ADDRSTRLEN + 32];

static void __attribute__((format(printf, 1, 2), noreturn))
usage_error(const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	fatalx(EX_USAGE, "%s; see fingerd -h", message);
}

static unsigned long long
option_number(int flag, const char *text, unsigned long long min,
    unsigned long long max)
{
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 ||
	    n < min || n > max)
		usage_error("-%c: '%s' is not a number from %llu to %llu",
		    flag, text, min, max);
	return n;
}

/* A group or account name: not empty. */
static const char *
option_name(int flag, const char *text)
{
	if (text[0] == '\0')
		usage_error("-%c: the name is empty", flag);
	if (strlen(text) >= NAME_MAX_LEN)
		usage_error("-%c: the name is longer than %d bytes", flag,
		    NAME_MAX_LEN - 1);
	return text;
}

/* -p: one more proxy's address or prefix. */
static void
proxy_add(struct options *o, const char *text)
{
	const char *why;

	if ((why = proxy_table_add(&o->proxies, text)) != NULL)
		usage_error("-p: '%s' %s", text, why);
}

static enum engine_kind
engine_named(const char *text)
{
	static const enum engine_kind kinds[] = {
		ENGINE_AUTO, ENGINE_URING, ENGINE_EPOLL,
	};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(text, engine_name(kinds[i])) == 0)
			return kinds[i];
	usage_error("-E: '%s' is not an engine: auto, io_uring or epoll",
	    text);
}

static void
parse_options(int argc, char *argv[], struct options *o)
{
	int ch;

	opterr = 0;
	while ((ch = getopt(argc, argv, ":hVinlB:P:g:u:t:c:a:m:w:E:R:M:p:")) !=
	    -1) {
		switch (ch) {
		case 'h':
			fputs(USAGE HELP, stdout);
			exit(EX_OK);
		case 'V':
			puts("fingerd " FINGERD_VERSION);
			exit(EX_OK);
		case 'i':
			o->inetd = true;
			break;
		case 'n':
			o->refuse_list = true;
			break;
		case 'l':
			o->syslog = true;
			break;
		case 'B':
			o->bind_address = optarg;
			break;
		case 'P':
			o->port = (unsigned)option_number(ch, optarg, 0, 65535);
			break;
		case 'g':
			o->group = option_name(ch, optarg);
			break;
		case 'u':
			o->user = option_name(ch, optarg);
			break;
		case 't':
			o->timeout = (unsigned)option_number(ch, optarg, 1, 86400);
			break;
		case 'c':
			o->clients = (unsigned)option_number(ch, optarg, 1, 30000);
			break;
		case 'a':
			o->per_address = (unsigned)option_number(ch, optarg, 1, 30000);
			break;
		case 'm':
			o->plan_max = option_number(ch, optarg, 0, 1ULL << 40);
			break;
		case 'w':
			o->workers = (unsigned)option_number(ch, optarg, 1,
			    WORKERS_MAX);
			break;
		case 'E':
			o->engine = engine_named(optarg);
			break;
		case 'R':
			o->reread = (unsigned)option_number(ch, optarg, 0, 86400);
			break;
		case 'M':
			if (optarg[0] == '\0')
				usage_error("-M: the file name is empty");
			o->metrics = optarg;
			break;
		case 'p':
			proxy_add(o, optarg);
			break;
		case ':':
			usage_error("-%c needs a value", optopt);
		default:
			usage_error("unknown option -%c", optopt);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (o->inetd && o->workers > 1)
		usage_error("-i serves one connection: it takes no -w %u",
		    o->workers);
	if (o->inetd && o->metrics != NULL)
		usage_error("-i serves one connection: it writes no -M file");
}

/*
 * Enough descriptors for every client's socket and plan in a worker, and
 * for every listening socket in the supervisor (a few more each).
 */
static void
raise_file_limit(unsigned clients, unsigned workers)
{
	rlim_t need = 2 * (rlim_t)clients + 32;
	struct rlimit rl;

	if (need < (rlim_t)workers + 16)
		need = (rlim_t)workers + 16;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
		return;
	if (rl.rlim_max < need)
		fatalx(EX_CONFIG, "-c %u and -w %u need %llu file descriptors "
		    "and the hard limit is %llu: lower -c or -w, or raise the "
		    "limit (ulimit -Hn, LimitNOFILE=)", clients, workers,
		    (unsigned long long)need,
		    (unsigned long long)rl.rlim_max);
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		fatal(EX_OSERR, "setrlimit(RLIMIT_NOFILE)");
}

static void
bind_failed(const struct sockaddr_storage *ss)
{
	char where[INET6_ADDRSTRLEN + 16];

	socket_address_format(ss, where, sizeof(where));
	if (errno == EADDRINUSE)
		fatal(EX_UNAVAILABLE, "cannot bind %s: stop the server that "
		    "holds it or choose another port with -P", where);
	if (errno == EACCES)
		fatal(EX_NOPERM, "cannot bind %s: start as root, give the "
		    "binary CAP_NET_BIND_SERVICE (setcap "
		    "cap_net_bind_service=ep), or use -P above 1023", where);
	if (errno == EADDRNOTAVAIL)
		fatal(EX_UNAVAILABLE, "cannot bind %s: not an address of this "
		    "machine (-B)", where);
	fatal(EX_OSERR, "cannot bind %s", where);
}

/* The address to bind: -B, or :: (dual-stack) falling back to 0.0.0.0. */
static void
bind_address(const struct options *o, struct sockaddr_storage *ss, bool v4)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (o->bind_address == NULL && !v4) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
	} else if (o->bind_address == NULL) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
	} else if (inet_pton(AF_INET6, o->bind_address, &sin6->sin6_addr)) {
		sin6->sin6_family = AF_INET6;
	} else if (inet_pton(AF_INET, o->bind_address, &sin->sin_addr)) {
		sin->sin_family = AF_INET;
	} else {
		usage_error("-B: '%s' is not an IPv4 or IPv6 address",
		    o->bind_address);
	}
	if (ss->ss_family == AF_INET6)
		sin6->sin6_port = htons((uint16_t)o->port);
	else
		sin->sin_port = htons((uint16_t)o->port);
}

/*
 * Systemd socket activation, without libsystemd: the listening socket is
 * fd 3 when LISTEN_PID is this process and LISTEN_FDS is 1.  Returns -1
 * when fingerd was not started that way.
 */
static int
activated_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int listening = 0;
	socklen_t len = sizeof(listening);

	if (pid == NULL || fds == NULL || strtol(pid, NULL, 10) != getpid())
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (strcmp(fds, "1") != 0)
		fatalx(EX_USAGE, "LISTEN_FDS is %s: give fingerd exactly one "
		    "socket", fds);
	if (getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
	    !listening)
		fatalx(EX_USAGE, "fd 3 is not a listening socket: check the "
		    "socket unit (ListenStream=, Accept=no)");
	if (fcntl(3, F_SETFD, FD_CLOEXEC) != 0)
		fatal(EX_OSERR, "fcntl");
	snprintf(listen_where, sizeof(listen_where), "systemd");
	return 3;
}

/*
 * A listening socket.  With workers each has its own (SO_REUSEPORT
 * spreads the connections), on the port the first one got.
 */
static int
listen_socket(struct options *o, bool first)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd, on = 1, off = 0;

	bind_address(o, &ss, false);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 && errno == EAFNOSUPPORT && o->bind_address == NULL) {
		bind_address(o, &ss, true);
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		fatal(EX_OSERR, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
	    (o->workers > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof(on)) != 0) ||
	    (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &off, sizeof(off)) != 0))
		fatal(EX_OSERR, "setsockopt");
	if (bind(fd, (struct sockaddr *)&ss,
	    ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in)) != 0)
		bind_failed(&ss);
	if (listen(fd, SOMAXCONN) != 0)
		fatal(EX_OSERR, "listen");
	if (first && getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
		socket_address_format(&ss, listen_where, sizeof(listen_where));
		o->port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	}
	return fd;
}

/* One listening socket a worker: systemd's, shared, or our own each. */
static void
listen_sockets(struct options *o, int *fds)
{
	int activated = activated_socket();
	unsigned i;

	for (i = 0; i < o->workers; i++)
		fds[i] = activated >= 0 ? activated : listen_socket(o, i == 0);
}

/*
 * inetd may hand over the connection as stderr too: then the log goes to
 * syslog, never to the client (and where syslog cannot be reached, its
 * lines are counted lost).  Any other stderr (a file, the journal's
 * socket) keeps it, unless -l.
 */
static void
inetd_logging(void)
{
	struct stat in, err;

	if (fstat(STDIN_FILENO, &in) != 0 || fstat(STDERR_FILENO, &err) != 0 ||
	    in.st_dev != err.st_dev || in.st_ino != err.st_ino)
		return;
	(void)log_syslog(true);
}

/*
 * inetd hands over the connection as stdout too: stdout leaves it (for
 * /dev/null), so that stdin is its only descriptor, and its close ends
 * it at once.  Only for a kernel that refuses the disconnect at a
 * deadline (client.c's socket_close): its reset, the close's, would
 * otherwise wait for the process's exit, which a file system that holds
 * a read of the plan holds too (client_cut); without /dev/null, it does
 * (a warning).  Stderr, if the connection, is syslog's by now
 * (inetd_logging).
 */
static void
inetd_stdout_leave(void)
{
	struct stat in, out;
	int fd;

	if (fstat(STDIN_FILENO, &in) != 0 || fstat(STDOUT_FILENO, &out) != 0 ||
	    in.st_dev != out.st_dev || in.st_ino != out.st_ino)
		return;
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
	    dup2(fd, STDOUT_FILENO) < 0)
		log_warn("-i: /dev/null as stdout (a reset waits for the "
		    "exit)");
	if (fd >= 0)
		close(fd);
}

/*
 * -l: syslog from the start, or a clear line and no start at all.  The
 * daemon's stderr (never -i's: the client's socket, maybe) keeps the
 * line that ends a start, too, until the supervisor runs.
 */
static void
syslog_open(bool keep_stderr)
{
	if (keep_stderr)
		log_start_keep();
	if (!log_syslog(false)) {
		log_start_over();	/* stderr is the log still */
		fatal(EX_UNAVAILABLE, "-l: cannot reach syslog at %s (is a "
		    "syslog daemon running?)", log_syslog_path());
	}
}

/*
 * The signals fingerd acts on (SIGTERM, SIGINT, SIGHUP, and SIGCHLD and
 * SIGUSR1 for the parent of workers) into set, blocked: they are read,
 * from a signalfd, never caught.
 */
void
signals_block(sigset_t *set, bool children)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	if (children) {
		sigaddset(set, SIGCHLD);
		sigaddset(set, SIGUSR1);
		/*
		 * A worker's (retire), never the supervisor's: blocked, so that
		 * a child between its fork and its exec's mask takes none.
		 */
		sigaddset(set, SIGUSR2);
	} else {
		sigaddset(set, SIGUSR2);	/* a worker's: retire */
	}
	if (sigprocmask(SIG_BLOCK, set, NULL) != 0)
		fatal(EX_OSERR, "sigprocmask");
}

/*
 * SIGHUP and SIGUSR1 (a reload, a status line: logrotate's or an
 * admin's `pkill -HUP fingerd`) held from the start until the supervisor
 * reads them (supervisor_init()), or -i's serve() ignores them: their
 * default ends the process, and a start can take seconds where the group
 * comes from LDAP or SSSD.  A worker sets its own mask (worker_exec()).
 */
static void
signals_hold(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		fatal(EX_OSERR, "sigprocmask");
}

/*
 * Descriptors 0, 1 and 2 open, on /dev/null where they were closed, so
 * that no socket or file of fingerd's takes their number: a listening
 * socket as fd 2 would get the log.
 */
static void
descriptors_open(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= STDERR_FILENO)
		;
	if (fd < 0)
		exit(EX_OSFILE);	/* nowhere to say so */
	close(fd);
}

static void __attribute__((noreturn))
group_failed(const char *group, const char *why)
{
	if (strcmp(why, MEMBERS_NO_GROUP) != 0)
		fatalx(EX_OSERR, "group %s: %s", group, why);
	fatalx(EX_NOUSER, "group %s: no such group: create it (groupadd %s) "
	    "and add users (gpasswd -a alice %s), or name another with -g",
	    group, group, group);
}

/*
 * The group at the start, read by a child (userdb_reading_wait) that
 * closes the n listening sockets: a user database that does not answer
 * (an LDAP server, SSSD, a hung NFS /etc) is said after USERDB_STALL_NS
 * and waited for.  SIGTERM or SIGINT meanwhile stops the daemon, as
 * they would once it serves (exit 0); SIGCHLD is held from here, so that
 * the supervisor reaps the child with its others (its signalfd reads the
 * SIGCHLD pending), and so are the stops that come after the reading.
 */
static struct members *
group_load(const char *group, const int *sockets, size_t n)
{
	struct signalfd_siginfo si;
	struct members *members;
	const char *why;
	sigset_t set;
	int stop_fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		fatal(EX_OSERR, "sigprocmask");
	sigdelset(&set, SIGCHLD);
	if ((stop_fd = signalfd(-1, &set, SFD_CLOEXEC)) < 0)
		fatal(EX_OSERR, "signalfd");
	members = userdb_reading_wait(group, sockets, n, 0, stop_fd,
	    "the start waits", &why);
	if (members == NULL && strcmp(why, USERDB_STOPPED) == 0) {
		if (read(stop_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			log_info("event=stop signal=SIG%s",
			    sigabbrev_np((int)si.ssi_signo));
		log_end(LOG_EXIT_GRACE_NS);
		exit(EX_OK);
	}
	close(stop_fd);
	if (members == NULL)
		group_failed(group, why);
	return members;
}

/*
 * -i's group, read by a child (userdb_reading_wait) within the
 * connection's deadline: a user database that does not answer holds no
 * process of inetd's longer than -t, and is said.
 */
static struct members *
inetd_group(const struct options *o)
{
	int64_t deadline = monotonic_ns() +
	    (int64_t)o->timeout * NS_PER_SECOND;
	struct members *members;
	const char *why;

	members = userdb_reading_wait(o->group, NULL, 0, deadline, -1, NULL,
	    &why);
	if (members != NULL)
		return members;
	if (strcmp(why, USERDB_UNANSWERED) == 0)
		fatalx(EX_TEMPFAIL, "group %s: the user database has not "
		    "answered in -t's %u s: the connection is ended "
		    "unanswered", o->group, o->timeout);
	group_failed(o->group, why);
}

/*
 * -i: one process, one connection.  It has the group read as the -u
 * account (by a child, within -t), surveys the homes as the supervisor
 * does (homes_check: its warnings, each .nofinger, never waiting on a
 * hung home for long), then serves the connection on stdin, confined as
 * a worker.
 */
static int
inetd(struct options *o)
{
	struct privileges privileges;
	struct members *members;
	char why[256];

	inetd_logging();
	inetd_stdout_leave();
	o->clients = 1;
	privileges_plan(o->user, &privileges);
	log_stderr_nonblocking();
	privileges_drop(&privileges);
	o->engine = engine_choose(o->engine, why, sizeof(why));
	members = inetd_group(o);
	/* The children that open the homes, some held by one, reap nothing
	 * (the reading's, killed, is a zombie until the exit). */
	signal(SIGCHLD, SIG_IGN);
	homes_check(members, NULL);
	return serve(o, members, -1, -1);
}

int
main(int argc, char *argv[])
{
	struct options o = {
		.port = 79, .group = "finger", .user = "nobody",
		.timeout = 10, .clients = 1024, .per_address = 16,
		.plan_max = 1048576, .workers = 1, .reread = 60,
	};
	struct privileges privileges;
	struct members *members;
	int fds[WORKERS_MAX];
	char why[256];

	signal(SIGPIPE, SIG_IGN);
	/* Not ignored, as a parent may leave it: its children are reaped
	 * here (a reading's is killed by its pid once it has ended). */
	signal(SIGCHLD, SIG_DFL);
	if (getenv(WORKER_ENVIRONMENT) != NULL)
		return worker_main();
	descriptors_open();
	log_init("fingerd");
	signals_hold();
	parse_options(argc, argv, &o);
	if (o.syslog)
		syslog_open(!o.inetd);
	log_file_append();
	if (o.inetd)
		return inetd(&o);
	privileges_plan(o.user, &privileges);
	raise_file_limit(o.clients, o.workers);
	listen_sockets(&o, fds);
	if (!log_nonblocking(SUPERVISOR_LINES))
		fatalx(EX_OSERR, "out of memory for the log");
	privileges_drop(&privileges);
	o.engine = engine_choose(o.engine, why, sizeof(why));
	members = group_load(o.group, fds, o.workers);
	log_info("event=listen address=%s", listen_where);
	engine_log(o.engine, why);
	return supervise(&o, members, fds);
}
