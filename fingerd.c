/*
 * fingerd: a finger daemon (RFC 1288) for the members of one Unix group,
 * on one single-threaded io_uring event loop.  Needs Linux 6.1 or later
 * (IORING_SETUP_DEFER_TASKRUN; older kernels fall back to plainer rings)
 * and liburing 2.3.
 *
 * main() parses the options, binds, drops privileges, then creates the
 * ring; loop() submits, waits and hands each completion to its owner:
 * the listener and the signals here, the clients in client.c.
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
	"usage: fingerd [-hVin] [-B addr] [-P port] [-g group] [-u user] " \
	"[-t seconds]\n" \
	"               [-c clients] [-a per-address] [-m bytes] " \
	"[-w workers]\n"

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
	"  -i             inetd mode: serve the connection on stdin, " \
	"then exit\n" \
	"  -V             print the version and exit\n" \
	"  -h             print this help and exit\n"

/* A pause before accepting again when out of descriptors or memory. */
#define ACCEPT_PAUSE_NS	100000000

static struct sockaddr_storage accept_address;
static socklen_t accept_address_len;
static struct signalfd_siginfo signal_info;
static int signal_fd = -1;
static char watch_events[4096]
    __attribute__((aligned(__alignof__(struct inotify_event))));
static struct __kernel_timespec accept_pause = { 0, ACCEPT_PAUSE_NS };
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
number(int flag, const char *text, unsigned long long min,
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
name(int flag, const char *text)
{
	if (text[0] == '\0')
		usage_error("-%c: the name is empty", flag);
	return text;
}

static void
parse_options(int argc, char *argv[], struct options *o)
{
	int ch;

	opterr = 0;
	while ((ch = getopt(argc, argv, ":hVinB:P:g:u:t:c:a:m:w:")) != -1) {
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
		case 'B':
			o->bind_address = optarg;
			break;
		case 'P':
			o->port = (unsigned)number(ch, optarg, 0, 65535);
			break;
		case 'g':
			o->group = name(ch, optarg);
			break;
		case 'u':
			o->user = name(ch, optarg);
			break;
		case 't':
			o->timeout = (unsigned)number(ch, optarg, 1, 86400);
			break;
		case 'c':
			o->clients = (unsigned)number(ch, optarg, 1, 30000);
			break;
		case 'a':
			o->per_address = (unsigned)number(ch, optarg, 1, 30000);
			break;
		case 'm':
			o->plan_max = number(ch, optarg, 0, 1ULL << 40);
			break;
		case 'w':
			o->workers = (unsigned)number(ch, optarg, 1,
			    WORKERS_MAX);
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
}

/* Enough descriptors for every client's socket and plan. */
static void
raise_file_limit(unsigned clients)
{
	rlim_t need = 2 * (rlim_t)clients + 32;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
		return;
	if (rl.rlim_max < need)
		fatalx(EX_CONFIG, "-c %u needs %llu file descriptors and the "
		    "hard limit is %llu: lower -c or raise the limit "
		    "(ulimit -Hn, LimitNOFILE=)", clients,
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
	snprintf(listen_where, sizeof(listen_where),
	    "the socket systemd passed");
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
 * /dev/null, never to the client.  Any other stderr (a file, the journal's
 * socket) keeps it.
 */
static void
inetd_logging(void)
{
	struct stat in, err;
	int fd;

	if (fstat(STDIN_FILENO, &in) != 0 || fstat(STDERR_FILENO, &err) != 0 ||
	    in.st_dev != err.st_dev || in.st_ino != err.st_ino)
		return;
	if ((fd = open("/dev/null", O_WRONLY)) < 0)
		fatal(EX_OSERR, "/dev/null");
	dup2(fd, STDERR_FILENO);
	if (fd != STDERR_FILENO)
		close(fd);
}

/*
 * The signals fingerd acts on (SIGTERM, SIGINT, SIGHUP, and SIGCHLD for
 * the parent of workers) into set, blocked: they are read, from a
 * signalfd or sigtimedwait, never caught.
 */
void
signals_block(sigset_t *set, bool children)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	if (children)
		sigaddset(set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, set, NULL) != 0)
		fatal(EX_OSERR, "sigprocmask");
}

static int
signals_open(void)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	signals_block(&set, false);
	if ((fd = signalfd(-1, &set, SFD_CLOEXEC)) < 0)
		fatal(EX_OSERR, "signalfd");
	return fd;
}

static void
accept_arm(struct context *ctx)
{
	struct io_uring_sqe *sqe = ring_sqe(ctx->ring, 1);

	accept_address_len = sizeof(accept_address);
	io_uring_prep_accept(sqe, ctx->listen_fd,
	    (struct sockaddr *)&accept_address, &accept_address_len,
	    SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, USER_DATA(0, OP_ACCEPT));
	ctx->accepting = true;
}

static void
accept_pause_arm(struct context *ctx)
{
	struct io_uring_sqe *sqe = ring_sqe(ctx->ring, 1);

	io_uring_prep_timeout(sqe, &accept_pause, 0, 0);
	io_uring_sqe_set_data64(sqe, USER_DATA(0, OP_ACCEPT_PAUSE));
}

static void
listener_close(struct context *ctx)
{
	ctx->accepting = false;
	if (ctx->listen_fd >= 0)
		close(ctx->listen_fd);
	ctx->listen_fd = -1;
}

static void
accepted(struct context *ctx, int res)
{
	if (res >= 0 || ctx->draining) {
		ctx->accepting = false;
		if (res >= 0)	/* accepted before the stop: served */
			client_start(ctx, res, &accept_address);
		if (ctx->draining)
			listener_close(ctx);
		return;
	}
	errno = -res;
	if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS ||
	    res == -ENOMEM) {
		log_warn("accept");
		accept_pause_arm(ctx);	/* still accepting, after a pause */
	} else {
		ctx->accepting = false;
	}
}

static void
signal_arm(struct context *ctx)
{
	struct io_uring_sqe *sqe = ring_sqe(ctx->ring, 1);

	io_uring_prep_read(sqe, signal_fd, &signal_info, sizeof(signal_info),
	    (uint64_t)-1);
	io_uring_sqe_set_data64(sqe, USER_DATA(0, OP_SIGNAL));
}

/* Reads the next inotify events (watches.c) from the watches' descriptor. */
static void
watch_arm(struct context *ctx)
{
	struct io_uring_sqe *sqe = ring_sqe(ctx->ring, 1);

	io_uring_prep_read(sqe, watches_fd(ctx->watches), watch_events,
	    sizeof(watch_events), (uint64_t)-1);
	io_uring_sqe_set_data64(sqe, USER_DATA(0, OP_WATCH));
}

static void
watch_read(struct context *ctx, int res)
{
	if (res == -ECANCELED)
		return;
	if (res <= 0) {
		errno = res < 0 ? -res : EIO;
		log_warn("reading inotify events; plans are looked at on "
		    "every query from now on");
		watches_disable(ctx->watches);
		return;
	}
	/*
	 * Events queued since this read are read now, before the batch's
	 * other completions: a query among them may have come after them.
	 */
	do {
		watches_events(ctx->watches, watch_events, (size_t)res);
		res = (int)read(watches_fd(ctx->watches), watch_events,
		    sizeof(watch_events));
	} while (res > 0);
	watch_arm(ctx);
}

/*
 * The log lines queued, written with one request at a time when they are
 * due; until then a timeout, one at a time, wakes the loop when they will
 * be.  (A timeout on each wait instead cost 3.5% more CPU per request.)
 */
static void
log_arm(struct context *ctx)
{
	static struct __kernel_timespec wait;
	struct io_uring_sqe *sqe;
	const void *data;
	size_t len;
	int64_t due;

	if (log_next(&data, &len)) {
		sqe = ring_sqe(ctx->ring, 1);
		io_uring_prep_write(sqe, STDERR_FILENO, data, (unsigned)len,
		    (uint64_t)-1);
		io_uring_sqe_set_data64(sqe, USER_DATA(0, OP_LOG));
		ctx->logging = true;
	} else if (!ctx->log_timer && (due = log_due()) > 0) {
		wait.tv_sec = due / 1000000000;
		wait.tv_nsec = due % 1000000000;
		sqe = ring_sqe(ctx->ring, 1);
		io_uring_prep_timeout(sqe, &wait, 0, 0);
		io_uring_sqe_set_data64(sqe, USER_DATA(0, OP_LOG_TIMER));
		ctx->log_timer = true;
	}
}

static void
reload(struct context *ctx)
{
	const char *group = ctx->options->group, *why;
	struct members *t;

	if ((t = members_load(group, &why)) == NULL) {
		log_warnx("SIGHUP: group %s: %s; keeping the %zu member%s "
		    "loaded before", group, why, ctx->members->count,
		    plural(ctx->members->count));
		return;
	}
	members_release(ctx->members);
	ctx->members = t;
	if (ctx->watches != NULL)	/* homes may have changed too */
		watches_drop_all(ctx->watches);
	log_info("SIGHUP: group %s has %zu member%s", group, t->count,
	    plural(t->count));
}

static void
drain(struct context *ctx, unsigned signo)
{
	struct io_uring_sqe *sqe;

	if (ctx->draining)
		return;
	ctx->draining = true;
	log_info("%s: stopping after %u exchange%s in flight",
	    strsignal((int)signo), ctx->active, plural(ctx->active));
	if (!ctx->accepting) {
		listener_close(ctx);
		return;
	}
	sqe = ring_sqe(ctx->ring, 2);
	io_uring_prep_cancel64(sqe, USER_DATA(0, OP_ACCEPT), 0);
	io_uring_sqe_set_data64(sqe, USER_DATA(0, OP_CANCEL));
	sqe = ring_sqe(ctx->ring, 1);
	io_uring_prep_cancel64(sqe, USER_DATA(0, OP_ACCEPT_PAUSE), 0);
	io_uring_sqe_set_data64(sqe, USER_DATA(0, OP_CANCEL));
}

static void
signalled(struct context *ctx, int res)
{
	if (res != (int)sizeof(signal_info)) {
		errno = res < 0 ? -res : EIO;
		fatal(EX_OSERR, "reading the signalfd");
	}
	if (signal_info.ssi_signo == SIGHUP)
		reload(ctx);
	else
		drain(ctx, signal_info.ssi_signo);
	signal_arm(ctx);
}

static void
dispatch(struct context *ctx, uint64_t user_data, int res)
{
	switch (USER_DATA_OP(user_data)) {
	case OP_ACCEPT:
		accepted(ctx, res);
		break;
	case OP_ACCEPT_PAUSE:
		if (ctx->draining)
			listener_close(ctx);
		else
			accept_arm(ctx);
		break;
	case OP_SIGNAL:
		signalled(ctx, res);
		break;
	case OP_WATCH:
		watch_read(ctx, res);
		break;
	case OP_LOG:
		ctx->logging = false;
		log_wrote(res);
		break;
	case OP_LOG_TIMER:	/* the loop writes what is due */
		ctx->log_timer = false;
		break;
	case OP_CANCEL:
		break;
	default:
		client_complete(ctx, user_data, res);
		break;
	}
}

/*
 * Handles the completions there are.  Each batch is copied out of the
 * completion queue first, then inotify events are handled before the
 * rest: a query completed in the same batch may have arrived after the
 * plan changed, and must not be answered from a watch those events drop
 * (watch_read() also reads the events queued since, which covers the
 * completions that come in while a batch is handled).
 */
static void
reap(struct context *ctx)
{
	struct completion *batch = ctx->completions;
	struct io_uring_cqe *cqe;
	unsigned head, i, n;

	for (;;) {
		n = 0;
		io_uring_for_each_cqe(ctx->ring, head, cqe) {
			batch[n].user_data = cqe->user_data;
			batch[n].res = cqe->res;
			if (++n == ctx->completions_size)
				break;
		}
		if (n == 0)
			return;
		io_uring_cq_advance(ctx->ring, n);
		for (i = 0; i < n; i++)
			if (USER_DATA_OP(batch[i].user_data) == OP_WATCH)
				watch_read(ctx, batch[i].res);
		for (i = 0; i < n; i++)
			if (USER_DATA_OP(batch[i].user_data) != OP_WATCH)
				dispatch(ctx, batch[i].user_data, batch[i].res);
	}
}

static void
loop(struct context *ctx)
{
	int ret;

	while (!ctx->draining || ctx->accepting || ctx->active > 0 ||
	    ctx->logging) {
		/* A log backed up takes no new client until it is written. */
		if (!ctx->accepting && !ctx->draining && ctx->listen_fd >= 0 &&
		    client_slot_free(ctx) && !log_backed_up())
			accept_arm(ctx);
		log_arm(ctx);
		ret = io_uring_submit_and_wait(ctx->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN &&
		    ret != -EBUSY && ret != -ETIME) {
			errno = -ret;
			fatal(EX_OSERR, "io_uring_submit_and_wait");
		}
		reap(ctx);
	}
}

static void
serve_inetd(struct context *ctx)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);

	memset(&peer, 0, sizeof(peer));
	if (getpeername(STDIN_FILENO, (struct sockaddr *)&peer, &len) != 0)
		fatal(EX_USAGE, "-i: standard input is not a connected socket");
	ctx->draining = true;
	client_start(ctx, STDIN_FILENO, &peer);
}

/*
 * One event loop: its ring, its clients, until SIGTERM or SIGINT and the
 * last exchange; with -i, the one on stdin.  Takes members over.
 */
int
serve(const struct options *o, struct members *members, int listen_fd)
{
	struct context ctx = {
		.options = o, .members = members, .listen_fd = listen_fd,
	};
	struct io_uring ring;

	signal_fd = signals_open();
	ring_open(&ring, o->clients);
	ctx.ring = &ring;
	ctx.completions_size = RING_CQ_ENTRIES(o->clients);
	ctx.completions = calloc(ctx.completions_size,
	    sizeof(*ctx.completions));
	if (ctx.completions == NULL || !clients_init(&ctx) ||
	    (ctx.addresses = address_counts_new(o->clients)) == NULL ||
	    (ctx.cache = plan_cache_new(PLAN_CACHE_BYTES)) == NULL)
		fatalx(EX_OSERR, "out of memory for %u clients", o->clients);
	if (!log_queue_start())
		fatalx(EX_OSERR, "out of memory for the log");
	if (!o->inetd && (ctx.watches = watches_new()) == NULL)
		fatalx(EX_OSERR, "out of memory for the plan watches");
	if (ctx.watches != NULL && watches_fd(ctx.watches) < 0)
		log_warn("inotify_init1: plans are looked at on every query");
	if (!o->inetd)
		log_info("serving group %s (%zu member%s)", o->group,
		    members->count, plural(members->count));
	signal_arm(&ctx);
	if (ctx.watches != NULL && watches_fd(ctx.watches) >= 0)
		watch_arm(&ctx);
	if (o->inetd)
		serve_inetd(&ctx);
	loop(&ctx);
	log_queue_stop();
	io_uring_queue_exit(&ring);
	clients_free(&ctx);
	free(ctx.completions);
	address_counts_free(ctx.addresses);
	plan_cache_free(ctx.cache);
	watches_free(ctx.watches);
	members_release(ctx.members);
	close(signal_fd);
	return EX_OK;
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

int
main(int argc, char *argv[])
{
	struct options o = {
		.port = 79, .group = "finger", .user = "nobody",
		.timeout = 10, .clients = 1024, .per_address = 16,
		.plan_max = 1048576, .workers = 1,
	};
	struct privileges privileges;
	struct members *members;
	int fds[WORKERS_MAX];
	const char *why;

	log_init("fingerd");
	parse_options(argc, argv, &o);
	log_file_append();
	if (o.inetd) {
		inetd_logging();
		o.clients = 1;
	}
	privileges_plan(o.user, &privileges);
	raise_file_limit(o.clients);
	if (!o.inetd)
		listen_sockets(&o, fds);
	if ((members = members_load(o.group, &why)) == NULL)
		group_failed(o.group, why);
	if (!o.inetd)
		log_info("listening on %s", listen_where);
	privileges_drop(&privileges);
	landlock_restrict(members);
	if (o.inetd)
		return serve(&o, members, -1);
	if (o.workers == 1)
		return serve(&o, members, fds[0]);
	return workers_run(&o, members, fds);
}
