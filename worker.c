/*
 * A worker: one single-threaded io_uring event loop that serves clients
 * until SIGTERM (from the supervisor, when a new generation takes over or
 * the daemon stops, or as its parent-death signal) and the last exchange.
 * The supervisor execs it (fingerd with FINGERD_WORKER set) with its
 * descriptors in place (WORKER_FD_*): a fresh image, with nothing of the
 * supervisor's memory, where the user database was read; the table it
 * serves comes in a sealed memfd.  It never reads the user database.
 * Before it takes a client it confines itself: Landlock to the members'
 * homes, seccomp to the system calls of its loop.  With -i, serve() runs
 * the same loop in the one process, on the connection on stdin.
 *
 * loop() submits, waits and hands each completion to its owner: the
 * listener, the signals, the watches and the log here, the clients in
 * client.c.
 */
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "engine.h"
#include "fingerd.h"

/* A pause before accepting again when out of descriptors or memory. */
#define ACCEPT_PAUSE_NS	100000000

static struct sockaddr_storage accept_address;
static socklen_t accept_address_len;
static struct signalfd_siginfo signal_info;
static int signal_fd = -1;
static char watch_events[4096]
    __attribute__((aligned(__alignof__(struct inotify_event))));
static deadline_t accept_pause;		/* when to accept again */
static deadline_t log_due_at;		/* when queued lines are due */

static int
signals_open(void)
{
	sigset_t set;
	int fd;

	signals_block(&set, false);
	if ((fd = signalfd(-1, &set, SFD_CLOEXEC)) < 0)
		fatal(EX_OSERR, "signalfd");
	return fd;
}

/* The time in delay_ns from now, for a timer. */
static void
deadline_in(deadline_t *d, int64_t delay_ns)
{
	int64_t at = monotonic_ns() + delay_ns;

	d->tv_sec = at / NS_PER_SECOND;
	d->tv_nsec = at % NS_PER_SECOND;
}

static void
accept_arm(struct context *ctx)
{
	accept_address_len = sizeof(accept_address);
	engine_accept(ctx->engine, ctx->listen_fd, &accept_address,
	    &accept_address_len, TAG(OP_ACCEPT, 0, 0));
	ctx->accepting = true;
}

static void
accept_pause_arm(struct context *ctx)
{
	deadline_in(&accept_pause, ACCEPT_PAUSE_NS);
	engine_timeout(ctx->engine, &accept_pause, TAG(OP_ACCEPT_PAUSE, 0, 0));
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
	engine_read(ctx->engine, signal_fd, &signal_info, sizeof(signal_info),
	    (uint64_t)-1, NULL, TAG(OP_SIGNAL, 0, 0));
}

/* Reads the next inotify events (watches.c) from the watches' descriptor. */
static void
watch_arm(struct context *ctx)
{
	engine_read(ctx->engine, watches_fd(ctx->watches), watch_events,
	    sizeof(watch_events), (uint64_t)-1, NULL, TAG(OP_WATCH, 0, 0));
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
	const void *data;
	size_t len;
	int64_t due;

	if (log_next(&data, &len)) {
		engine_write(ctx->engine, STDERR_FILENO, data, len,
		    TAG(OP_LOG, 0, 0));
		ctx->logging = true;
	} else if (!ctx->log_timer && (due = log_due()) > 0) {
		deadline_in(&log_due_at, due);
		engine_timeout(ctx->engine, &log_due_at, TAG(OP_LOG_TIMER, 0, 0));
		ctx->log_timer = true;
	}
}

static void
drain(struct context *ctx, unsigned signo)
{
	if (ctx->draining)
		return;
	ctx->draining = true;
	log_info("%s: stopping after %u exchange%s in flight",
	    strsignal((int)signo), ctx->active, plural(ctx->active));
	if (!ctx->accepting) {
		listener_close(ctx);
		return;
	}
	engine_cancel(ctx->engine, TAG(OP_ACCEPT, 0, 0));
	engine_cancel(ctx->engine, TAG(OP_ACCEPT_PAUSE, 0, 0));
}

static void
signalled(struct context *ctx, int res)
{
	if (res != (int)sizeof(signal_info)) {
		errno = res < 0 ? -res : EIO;
		fatal(EX_OSERR, "reading the signalfd");
	}
	drain(ctx, signal_info.ssi_signo);
	signal_arm(ctx);
}

static void
dispatch(struct context *ctx, uint64_t tag, int res)
{
	switch (TAG_OP(tag)) {
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
		client_complete(ctx, tag, res);
		break;
	}
}

/*
 * Handles a batch of completions, inotify events before the rest: a
 * query completed in the same batch may have arrived after the plan
 * changed, and must not be answered from a watch those events drop
 * (watch_read() also reads the events queued since, which covers the
 * completions that come in while a batch is handled).  The engine posts
 * completions only while it waits (io_uring's DEFER_TASKRUN), so none
 * arrives in the middle of a batch.
 */
static void
reap(struct context *ctx, size_t n)
{
	struct completion *batch = ctx->completions;
	size_t i;

	for (i = 0; i < n; i++)
		if (TAG_OP(batch[i].tag) == OP_WATCH)
			watch_read(ctx, batch[i].res);
	for (i = 0; i < n; i++)
		if (TAG_OP(batch[i].tag) != OP_WATCH)
			dispatch(ctx, batch[i].tag, batch[i].res);
}

static void
loop(struct context *ctx)
{
	size_t n;

	while (!ctx->draining || ctx->accepting || ctx->active > 0 ||
	    ctx->logging) {
		/* A log backed up takes no new client until it is written. */
		if (!ctx->accepting && !ctx->draining && ctx->listen_fd >= 0 &&
		    client_slot_free(ctx) && !log_backed_up())
			accept_arm(ctx);
		log_arm(ctx);
		n = engine_wait(ctx->engine, ctx->completions,
		    ctx->completions_size);
		reap(ctx, n);
	}
}

/* -i: the client is the connection on stdin. */
static void
inetd_peer(struct sockaddr_storage *peer)
{
	socklen_t len = sizeof(*peer);

	memset(peer, 0, sizeof(*peer));
	if (getpeername(STDIN_FILENO, (struct sockaddr *)peer, &len) != 0)
		fatal(EX_USAGE, "-i: standard input is not a connected socket");
}

/*
 * One event loop: its ring, its clients, until SIGTERM or SIGINT and the
 * last exchange; with -i, the one on stdin.  It confines itself to the
 * members' homes and its own system calls first, then says it serves on
 * ready_fd (unless -1).  Takes members over.
 */
int
serve(const struct options *o, struct members *members, int listen_fd,
    int ready_fd)
{
	struct context ctx = {
		.options = o, .members = members, .listen_fd = listen_fd,
	};
	struct sockaddr_storage peer;
	pid_t self = getpid();

	if (o->inetd)
		inetd_peer(&peer);
	signal_fd = signals_open();
	ctx.engine = engine_open(o->clients);
	ctx.completions_size = COMPLETIONS(o->clients);
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
	landlock_restrict(members);
	seccomp_restrict();
	if (ready_fd >= 0 && (write(ready_fd, &self, sizeof(self)) !=
	    sizeof(self) || close(ready_fd) != 0))
		fatal(EX_OSERR, "telling the supervisor");
	signal_arm(&ctx);
	if (ctx.watches != NULL && watches_fd(ctx.watches) >= 0)
		watch_arm(&ctx);
	if (o->inetd) {
		ctx.draining = true;
		client_start(&ctx, STDIN_FILENO, &peer);
	}
	loop(&ctx);
	log_queue_stop();
	engine_close(ctx.engine);
	clients_free(&ctx);
	free(ctx.completions);
	address_counts_free(ctx.addresses);
	plan_cache_free(ctx.cache);
	watches_free(ctx.watches);
	members_release(ctx.members);
	close(signal_fd);
	return EX_OK;
}

/*
 * The setup the supervisor wrote: the header and, after it, the table.
 * The memfd must be sealed against any change, so what this worker
 * serves is what the supervisor published, and stays so.
 */
static const struct worker_setup *
setup_map(struct members **members)
{
	const int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE;
	const struct worker_setup *setup;
	struct stat st;
	void *block;

	if (fstat(WORKER_FD_SETUP, &st) != 0 ||
	    (fcntl(WORKER_FD_SETUP, F_GET_SEALS) & seals) != seals ||
	    (size_t)st.st_size < sizeof(*setup))
		fatalx(EX_SOFTWARE, "a worker is started by fingerd itself, "
		    "with its setup on descriptor %d", WORKER_FD_SETUP);
	block = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED,
	    WORKER_FD_SETUP, 0);
	if (block == MAP_FAILED)
		fatal(EX_OSERR, "mmap of the worker's setup");
	close(WORKER_FD_SETUP);
	setup = block;
	if (memcmp(setup->magic, WORKER_SETUP_MAGIC, sizeof(setup->magic)) != 0 ||
	    (*members = members_unpack(setup + 1,
	    (size_t)st.st_size - sizeof(*setup))) == NULL)
		fatalx(EX_SOFTWARE, "the worker's setup is damaged");
	return setup;
}

/*
 * The entry of an exec'd worker.  Its parent-death signal is SIGTERM: a
 * supervisor that dies leaves no worker accepting, each finishes its
 * exchanges and exits.  SIGHUP is the supervisor's: `pkill -HUP fingerd`
 * reaches the workers too, which ignore it.
 */
int
worker_main(void)
{
	const struct worker_setup *setup;
	struct members *members;
	struct options o = { 0 };
	static char name[32];

	unsetenv(WORKER_ENVIRONMENT);
	setup = setup_map(&members);
	if (setup->workers > 1)
		snprintf(name, sizeof(name), "fingerd[%d]", (int)getpid());
	else
		snprintf(name, sizeof(name), "fingerd");
	log_init(name);
	prctl(PR_SET_NAME, "fingerd");
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		fatal(EX_OSERR, "prctl(PR_SET_PDEATHSIG)");
	if (getppid() != setup->supervisor)
		return EX_OK;		/* it died before we could tell */
	signal(SIGHUP, SIG_IGN);
	o.group = setup->group;
	o.timeout = setup->timeout;
	o.clients = setup->clients;
	o.per_address = setup->per_address;
	o.plan_max = setup->plan_max;
	o.refuse_list = setup->refuse_list;
	o.workers = setup->workers;
	return serve(&o, members, WORKER_FD_LISTEN, WORKER_FD_READY);
}
