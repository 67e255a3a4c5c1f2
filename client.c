/*
 * One client: a state machine driven by completions.
 *
 *	RECV_QUERY -> (parse) -> STAT_PART -> OPEN_PART -> STAT_OPENED ->
 *	    READ_PART <-> SEND_MORE -> SEND_LAST -> [DRAIN] -> DONE
 *
 * An error line, the member list, "No Plan." and a cached reply go
 * straight to SEND_LAST.  A reply is made of files: the plan, and with /W
 * the .project and the .pgpkey before it (enum part), taken in turn
 * through the same states.  A file watched and unchanged (watches.c)
 * needs no request; otherwise a statx of its path keys it.  With every
 * file keyed, the reply made of them is found in the cache, or each file
 * there is opened, its descriptor's statx checks it and keys it, and it
 * is read: /W's project line and key into the client's head, then the
 * plan.  A plan the cache has room for is read whole
 * into a new entry (READ_PART alone), then sent; one it has no room for
 * is streamed, READ_PART and SEND_MORE taking turns (reply.c builds the
 * reply from what is read; client.h holds the slot).  Every one of those
 * is a request to the engine, never a call on the loop: a file system
 * that hangs holds its requests, not the loop.
 *
 * Every request goes to the engine (engine.h) with a tag holding the slot
 * and the client's serial; one on the socket with the client's absolute
 * deadline, so that it completes by then at the latest.  `inflight`
 * counts the requests not yet completed, and a client leaves its slot
 * (its socket closed, its buffers reused) only in DONE with nothing in
 * flight: the kernel never writes into memory that has been given to
 * someone else, and the close sends a FIN at once because no request
 * holds the socket.
 *
 * A request on the plan cannot be cancelled once a file system holds it:
 * a timer at the deadline (OP_DEADLINE), set before the first, ends the
 * connection then (reset and closed, logged, its address uncounted), and
 * the slot is left when the file system gives the request back.  So that a
 * file system that hangs holds few slots past their deadlines, the
 * requests on one member's files take turns (turns.c): a few at once,
 * the rest waiting in order, each at most until its deadline, when it
 * leaves its slot at once, or until a connection that waits for a slot
 * takes its (client_evict_oldest).
 *
 * How an exchange ends, in four steps, each once: client_end says why
 * (the word of end= in its line); client_cut, at a deadline or an
 * eviction, ends the connection now, whatever is in flight;
 * client_finish logs the line and uncounts the address; client_leave,
 * with nothing in flight, frees the slot.  client_expired (the deadline)
 * and client_evict_oldest start it; client_discard tidies what comes
 * back after it.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include <linux/openat2.h>
#include <linux/sockios.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "fingerd.h"
#include "client.h"
#include "loop.h"

/*
 * A reply this long may still be partly the kernel's to send at the
 * close, to a client that reads it as it comes (more than a first TCP
 * window of ten segments, some 14 KB).  A shorter one can be too, to a
 * client whose receive window is smaller still; the look for its input
 * would cost every exchange a call.
 */
#define REPLY_LONG	16384

static size_t
client_index(const struct context *ctx, const struct client *c)
{
	return (size_t)(c - ctx->clients);
}

bool
clients_init(struct context *ctx)
{
	unsigned i, n = ctx->options->clients;

	if ((ctx->clients = calloc(n, sizeof(*ctx->clients))) == NULL ||
	    !turns_init(&ctx->turns, n, ctx->members->count))
		return false;
	for (i = n; i-- > 0;)
		SLIST_INSERT_HEAD(&ctx->free_clients, &ctx->clients[i],
		    free_link);
	return true;
}

void
clients_free(struct context *ctx)
{
	struct plan_buffer *b;

	while ((b = SLIST_FIRST(&ctx->free_buffers)) != NULL) {
		SLIST_REMOVE_HEAD(&ctx->free_buffers, free_link);
		free(b);
	}
	free(ctx->clients);
	ctx->clients = NULL;
	turns_free(&ctx->turns);
}

bool
client_slot_free(const struct context *ctx)
{
	return !SLIST_EMPTY(&ctx->free_clients);
}

bool
client_evictable(const struct context *ctx)
{
	return turns_evictable(&ctx->turns);
}

/* The client whose entry in the turns e is. */
static struct client *
client_of(struct turn_entry *e)
{
	return (struct client *)((char *)e - offsetof(struct client, turn));
}

/*
 * A request on a file cannot be interrupted, nor can a deadline linked
 * to it fire while a file system holds it (engine.h): before the first,
 * a timer at the client's deadline, which ends the connection on time.
 */
static void
client_timer(struct context *ctx, struct client *c)
{
	if (c->timer)
		return;
	c->timer = true;
	engine_timeout(ctx->engine, c->deadline, TAG(OP_DEADLINE,
	    client_index(ctx, c), c->serial));
}

/* The tag of this client's request op; counts it in flight. */
static uint64_t
client_tag(struct context *ctx, struct client *c, enum op op)
{
	c->inflight++;
	return TAG(op, client_index(ctx, c), c->serial);
}

static void
client_recv(struct context *ctx, struct client *c, enum op op)
{
	/* What a client sends after its query is read here and dropped. */
	static char discard[4096];

	if (op == OP_DRAIN)
		engine_recv(ctx->engine, c->fd, discard, sizeof(discard),
		    &c->deadline, client_tag(ctx, c, op));
	else
		engine_recv(ctx->engine, c->fd, c->query + c->query_len,
		    sizeof(c->query) - c->query_len, &c->deadline,
		    client_tag(ctx, c, op));
}

void
client_send(struct context *ctx, struct client *c)
{
	engine_send(ctx->engine, c->fd, c->send_next, c->send_left,
	    &c->deadline, client_tag(ctx, c, OP_SEND));
}

/* Sends len bytes at data, valid until the client leaves, then closes. */
void
client_reply(struct context *ctx, struct client *c, const char *reply,
    const void *data, size_t len)
{
	c->reply = reply;
	c->send_next = data;
	c->send_left = len;
	c->state = CLIENT_SEND_LAST;
	client_send(ctx, c);
}

static void
client_error(struct context *ctx, struct client *c, enum fingerd_error e)
{
	const char *line = error_reply(e);

	client_reply(ctx, c, error_name(e), line, strlen(line));
}

/*
 * Ends the exchange; the slot is left once nothing is in flight.  A query
 * cut off (by the deadline, an eviction, a reset) is logged as far as it
 * came.
 */
void
client_end(struct client *c, enum fingerd_error e)
{
	if (c->end == E_NONE)
		c->end = e;
	if (c->state == CLIENT_RECV_QUERY)
		c->line_len = c->query_len;
	c->state = CLIENT_DONE;
}

/* Whether the client waits on a request to a file system. */
static bool
on_file(const struct client *c)
{
	return c->state == CLIENT_STAT_PART || c->state == CLIENT_OPEN_PART ||
	    c->state == CLIENT_STAT_OPENED || c->state == CLIENT_READ_PART;
}

static void	client_finish(struct context *, struct client *);
static void	socket_close(struct context *, struct client *);

/*
 * Ends the exchange now, not at a request's completion: at its deadline,
 * or to make room.  A client that waits on a file system (a request
 * held, or its turn) has no request on its socket: the socket is reset
 * and closed now (a FIN would end a plan cut short as if it were
 * whole), the exchange logged, and one waiting for its turn waits no
 * more; its slot stays taken until the file system gives its request
 * back.  Otherwise the socket is shut down, which completes the request
 * on it at once.  True when nothing is in flight: the slot is to be
 * left (client_leave) by the caller, or, in the handling of a
 * completion of c's, when that is over (client_complete).
 */
static bool
client_cut(struct context *ctx, struct client *c, enum fingerd_error e)
{
	bool held = on_file(c), receiving = c->state == CLIENT_RECV_QUERY;

	client_end(c, e);
	if (held) {
		socket_close(ctx, c);
		worker_descriptors_freed(ctx);
		client_finish(ctx, c);
	} else {
		/*
		 * A receive of the query (an eviction) ends with no FIN, so
		 * that the client sees the reset of the close, not an end.
		 */
		shutdown(c->fd, receiving ? SHUT_RD : SHUT_RDWR);
	}
	if (c->turn.waiting)
		turns_forgo(&ctx->turns, &c->turn);
	return c->inflight == 0;
}

/*
 * A file's descriptor is closed by the engine: closing a file may wait
 * on its file system (a flush), and that is no wait for the loop.
 */
void
close_file(struct context *ctx, struct client *c)
{
	if (c->file_fd >= 0)
		engine_close(ctx->engine, c->file_fd, TAG(OP_CLOSE, 0, 0));
	c->file_fd = -1;
}

static const char *
part_path(const struct member *m, unsigned part)
{
	return part == PART_PLAN ? m->plan : part == PART_PROJECT ?
	    m->project : m->pgpkey;
}

static bool
file_op(enum op op)
{
	return op == OP_STAT_PART || op == OP_OPEN_PART ||
	    op == OP_STAT_OPENED || op == OP_READ_PART;
}

/*
 * The request on a file that c->state names, made now.  A read takes the
 * next chunk of the file, up to the size it had when it was opened (the
 * reply is that snapshot) and at most its cap in all; a .project gathers
 * its first line in the chunk buffer.
 */
static void
file_request(struct context *ctx, struct client *c)
{
	uint64_t left;
	uint8_t *in;

	switch (c->state) {
	case CLIENT_STAT_PART:
		engine_statx(ctx->engine, AT_FDCWD, part_path(c->member,
		    c->part), &c->stx, client_tag(ctx, c, OP_STAT_PART));
		break;
	case CLIENT_OPEN_PART:
		engine_openat(ctx->engine, part_path(c->member, c->part),
		    &c->how, client_tag(ctx, c, OP_OPEN_PART));
		break;
	case CLIENT_STAT_OPENED:
		engine_statx(ctx->engine, c->file_fd, "", &c->stx,
		    client_tag(ctx, c, OP_STAT_OPENED));
		break;
	case CLIENT_READ_PART:
		left = c->file_end - c->file_offset;
		in = c->buffer->in;
		if (c->part == PART_PROJECT)
			in += c->file_offset;	/* file_end <= PROJECT_READ */
		engine_read(ctx->engine, c->file_fd, in, left < FILE_CHUNK ?
		    (size_t)left : FILE_CHUNK, c->file_offset, NULL,
		    client_tag(ctx, c, OP_READ_PART));
		break;
	default:
		fatalx(EX_SOFTWARE, "a file request in state %d", c->state);
	}
}

static void	client_leave(struct context *, struct client *);

/*
 * The turns free on mount m at now go to the clients waiting on it, in
 * turn (turns_give); one whose deadline has passed (its timer not yet
 * handled) has nothing in flight, and leaves its slot instead.
 */
static void
file_turns_give(struct context *ctx, unsigned m, int64_t now)
{
	struct turn_entry *e;
	struct client *c;
	bool late;

	while ((e = turns_give(&ctx->turns, m, now, &late)) != NULL) {
		c = client_of(e);
		if (!late)
			file_request(ctx, c);
		else if (client_cut(ctx, c, E_TIMEOUT))
			client_leave(ctx, c);
	}
}

/*
 * The request on a file that c->state names, in its turn: after those
 * waiting for its home, and those of the homes of its mount listed
 * before it, until the client's deadline (its timer is set by then).
 * With no one waiting and a turn free, that is now.  Past the deadline
 * (its timer may have fired while a send was in flight), it ends.  It
 * is called in the handling of c's completions, which leaves the slot
 * of one ended: c is not left here (the same now, it is not late for
 * the turns given).
 */
static void
file_turn(struct context *ctx, struct client *c)
{
	int64_t now = monotonic_ns();

	c->turn.home = (unsigned)(c->member - ctx->members->v);
	c->turn.mount = c->member->mount;
	/* never evicted in the middle of a reply */
	if (!turns_wait(&ctx->turns, &c->turn, c->sent == 0, now)) {
		(void)client_cut(ctx, c, E_TIMEOUT);
		return;
	}
	file_turns_give(ctx, c->turn.mount, now);
}

/* A request on a home's files is back: its turns go to the next. */
static void
file_turn_end(struct context *ctx, struct client *c)
{
	int64_t now = monotonic_ns();

	turns_done(&ctx->turns, &c->turn, now);
	file_turns_give(ctx, c->turn.mount, now);
}

/* Reads the next chunk of the file, in its home's turn (file_request). */
void
client_read_file(struct context *ctx, struct client *c)
{
	c->state = CLIENT_READ_PART;
	file_turn(ctx, c);
}

/*
 * Every file of the reply keyed: a reply made of those files is sent
 * from the cache; otherwise they are opened and read, in order.  With
 * none there, "No Plan.".
 */
static void
client_lookup(struct context *ctx, struct client *c)
{
	bool hit;

	if (c->key.present == 0) {
		client_no_plan(ctx, c);
		return;
	}
	/*
	 * A hit or a miss once an exchange: the look plan_start() takes
	 * again, once the files are open, is part of the same miss.
	 */
	hit = reply_cached(ctx, c, &c->key);
	counters_cache(hit);
	if (hit)
		return;
	c->part = c->key.verbose ? PART_PROJECT : PART_PLAN;
	client_open_next(ctx, c);
}

/*
 * The short way to a cached reply, file by file (the plan; with /W the
 * project and the key first).  A file watched through inotify and
 * unchanged since (watches.c) needs no request at all; otherwise a statx
 * of its path, which opens nothing and follows no link, keys it, and the
 * watch armed just before it is confirmed with that key.  A cached reply
 * was made by opening these very files as this account, and a change to
 * their content, mode, owner or ACL changes their ctime, so a match needs
 * no open.  (Measured when it was a plain call: statx 0.86x the server
 * CPU per request of opening, with a 1 KiB plan.  It syncs attributes as
 * fstat would, so a network file system, never watched, gives no stale
 * answer.)
 */
static void
client_key_next(struct context *ctx, struct client *c)
{
	const struct member *m = c->member;
	int64_t now = monotonic_ns();
	const char *path;

	for (; c->part < PARTS; c->part++) {
		path = part_path(m, c->part);
		if (watches_key(ctx->watches, path, &c->key.file[c->part],
		    now)) {
			c->key.present |= PART_BIT(c->part);
			continue;
		}
		if (m->watchable)
			c->arm = watches_arm(ctx->watches, m->home, path, now);
		client_timer(ctx, c);
		c->state = CLIENT_STAT_PART;
		file_turn(ctx, c);
		return;
	}
	client_lookup(ctx, c);
}

/*
 * Why the plan is not sent, for the admin (never the client): a request
 * on it failed with -error, or it is of type mode.
 */
static void
plan_refused(struct client *c, int error, uint16_t mode)
{
	if (c->part != PART_PLAN)
		return;
	switch (error) {
	case 0:
		c->why = S_ISLNK(mode) ? "symlink" : "not-a-file";
		break;
	case ENOENT:
	case ENOTDIR:
		c->why = "missing";
		break;
	case EACCES:
	case EPERM:
		c->why = "denied";
		break;
	case ELOOP:		/* O_NOFOLLOW at a link */
		c->why = "symlink";
		break;
	default:
		c->why = "failed";
	}
}

/*
 * A file's path, looked at: a regular file is keyed as it is now; one
 * missing, a link, a FIFO, a device or a directory is left out.
 */
static void
part_statted(struct context *ctx, struct client *c, int res)
{
	struct plan_key *key = &c->key.file[c->part];

	if (res == -ECANCELED) {	/* a file request takes no deadline */
		client_end(c, E_SERVER);
		return;
	}
	KERNEL_WROTE(&c->stx, sizeof(c->stx));
	if (res < 0 || !S_ISREG(c->stx.stx_mode))
		plan_refused(c, -res, c->stx.stx_mode);
	if (res == 0 && S_ISREG(c->stx.stx_mode)) {
		plan_key_from_statx(key, &c->stx);
		c->key.present |= PART_BIT(c->part);
		watches_confirm(ctx->watches, part_path(c->member, c->part),
		    c->arm, key, monotonic_ns());
	}
	c->part++;
	client_key_next(ctx, c);
}

/*
 * Opens the next file there is without following a symbolic link at it
 * and without blocking on a FIFO or a device; part_opened() checks what
 * it is.  After the last, with no plan, "No Plan.".
 */
void
client_open_next(struct context *ctx, struct client *c)
{
	while (c->part < PARTS && !(c->key.present & PART_BIT(c->part)))
		c->part++;
	if (c->part == PARTS) {
		client_no_plan(ctx, c);
		return;
	}
	if (!buffer_take(ctx, c))
		return;
	client_timer(ctx, c);	/* every file was watched: none yet */
	c->how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC;
	c->how.resolve = RESOLVE_NO_MAGICLINKS;
	c->state = CLIENT_OPEN_PART;
	file_turn(ctx, c);
}

/* A file that went away since its statx (or is no file): left out. */
static void
part_gone(struct context *ctx, struct client *c)
{
	close_file(ctx, c);
	c->key.present &= ~PART_BIT(c->part);
	memset(&c->key.file[c->part], 0, sizeof(c->key.file[c->part]));
	c->part++;
	client_open_next(ctx, c);
}

/*
 * A request on a file that failed.  It takes no deadline (engine.h):
 * -ECANCELED is the engine's fault, not a timeout.
 */
static bool
file_request_failed(struct context *ctx, struct client *c, int res)
{
	if (res == -ECANCELED) {
		client_end(c, E_SERVER);
	} else if (res < 0) {
		plan_refused(c, -res, 0);
		part_gone(ctx, c);
	}
	return res < 0;
}

/* Opened: what the descriptor is, a statx tells. */
static void
part_opened(struct context *ctx, struct client *c, int res)
{
	if (file_request_failed(ctx, c, res))
		return;
	c->file_fd = res;
	c->state = CLIENT_STAT_OPENED;
	file_turn(ctx, c);
}

/*
 * A regular file is read up to its size now, at most its cap: -m for the
 * plan, PGPKEY_MAX for the key, the project's first PROJECT_READ bytes.
 * Its key is the reply's from now: what is read is this file.
 */
static void
part_opened_statted(struct context *ctx, struct client *c, int res)
{
	static const uint64_t caps[PARTS] = {
		[PART_PROJECT] = PROJECT_READ, [PART_PGPKEY] = PGPKEY_MAX,
	};
	uint64_t cap = c->part == PART_PLAN ? ctx->options->plan_max :
	    caps[c->part];

	if (file_request_failed(ctx, c, res))
		return;
	KERNEL_WROTE(&c->stx, sizeof(c->stx));
	if (!S_ISREG(c->stx.stx_mode)) {
		plan_refused(c, 0, c->stx.stx_mode);
		part_gone(ctx, c);
		return;
	}
	plan_key_from_statx(&c->key.file[c->part], &c->stx);
	c->file_end = c->stx.stx_size;
	c->file_offset = 0;
	if (c->file_end > cap) {
		c->file_end = cap;
		c->cut |= c->part == PART_PLAN ? CUT_PLAN :
		    c->part == PART_PGPKEY ? CUT_PGPKEY : 0;
	}
	if (c->part == PART_PLAN)
		plan_start(ctx, c);
	else
		extra_start(ctx, c);
}

/*
 * What the log says of a member whose home the reading of the group did
 * not reach, in the words of a plan that could not be read: one that
 * hung or that fingerd had no room to take "failed", one beneath a
 * directory this account cannot search or one never served (at /, or
 * not absolute: the reading's warning names it) "denied", one missing
 * "missing".
 */
static const char *
unreached_why(enum home_reach reach)
{
	switch (reach) {
	case HOME_FAILED:
	case HOME_HUNG:
		return "failed";
	case HOME_DENIED:
	case HOME_ROOT:
	case HOME_REFUSED:
		return "denied";
	default:
		return "missing";
	}
}

static void
client_answer(struct context *ctx, struct client *c)
{
	struct members *t = ctx->members;
	enum fingerd_error e;
	struct query q;

	c->members = members_hold(t);
	if ((e = query_parse(c->query, c->line_len, &q)) != E_NONE) {
		client_error(ctx, c, e);
	} else if (q.kind == QUERY_LIST) {
		if (ctx->options->refuse_list)
			client_error(ctx, c, E_LIST_DENIED);
		else
			client_reply(ctx, c, "list", t->list, t->list_len);
	} else if ((c->member = members_find(t, q.user, q.user_len)) == NULL) {
		client_error(ctx, c, E_NO_SUCH_USER);
	} else if (c->member->reach != HOME_REACHED) {
		/* Not confined to (landlock.c): not looked at either. */
		c->why = unreached_why(c->member->reach);
		client_no_plan(ctx, c);
	} else {
		c->key.verbose = q.verbose;
		c->part = q.verbose ? PART_PROJECT : PART_PLAN;
		client_key_next(ctx, c);
	}
}

static enum fingerd_error
request_failed(int res)
{
	return res == -ECANCELED ? E_TIMEOUT : E_CLIENT_GONE;
}

/*
 * Counts c's address for -a; false when it is past it, and the error
 * line is on its way.
 */
static bool
client_count(struct context *ctx, struct client *c)
{
	c->counted = true;
	if (address_counts_add(ctx->addresses, &c->address) <=
	    ctx->options->per_address)
		return true;
	client_error(ctx, c, E_TOO_MANY_FROM_ADDRESS);
	return false;
}

/*
 * From a -p proxy, the bytes so far (ended: and no more will come) begin
 * with a PROXY header, or may yet, or do not: then the connection is
 * closed with no reply.  A whole header is dropped, and the client is
 * the address it names (a LOCAL one: the proxy itself), counted for -a
 * from now.  Whether what follows it is to be taken as the query.
 */
static bool
proxy_received(struct context *ctx, struct client *c, bool ended)
{
	struct proxy_header h;

	switch (proxy_header_parse(c->query, c->query_len, &h)) {
	case PROXY_MORE:
		if (!ended) {
			client_recv(ctx, c, OP_RECV_QUERY);
			return false;
		}
		h.why = "truncated";
		/* FALLTHROUGH */
	case PROXY_INVALID:
		c->why = h.why;
		client_end(c, E_BAD_PROXY);
		return false;
	case PROXY_DONE:
		break;
	}
	c->query_len -= h.length;
	memmove(c->query, c->query + h.length, c->query_len);
	c->proxied = false;
	if (!h.local)
		c->address = h.address;
	if (!client_count(ctx, c))
		return false;
	if (c->query_len > 0)
		return true;
	if (ended)
		client_end(c, E_NO_QUERY);
	else
		client_recv(ctx, c, OP_RECV_QUERY);
	return false;
}

static void
query_received(struct context *ctx, struct client *c, int res)
{
	size_t end;

	if (res < 0) {
		client_end(c, request_failed(res));
		return;
	}
	if (res == 0 && c->query_len == 0) {
		client_end(c, E_NO_QUERY);
		return;
	}
	KERNEL_WROTE(c->query + c->query_len, (size_t)res);
	c->query_len += (size_t)res;
	if (c->proxied && !proxy_received(ctx, c, res == 0))
		return;
	if (query_line_end(c->query, c->query_len, &c->line_len)) {
		end = (size_t)((char *)memchr(c->query, '\n', c->query_len) -
		    c->query);
		/* Bytes after the line, or a full buffer: more may wait. */
		c->linger = end + 1 < c->query_len ||
		    c->query_len == sizeof(c->query);
		client_answer(ctx, c);
	} else if (res == 0) {
		c->line_len = c->query_len;	/* ended by EOF, no newline */
		client_answer(ctx, c);
	} else if (c->query_len == sizeof(c->query)) {
		c->linger = true;
		c->line_len = c->query_len;
		client_error(ctx, c, E_QUERY_TOO_LONG);
	} else {
		client_recv(ctx, c, OP_RECV_QUERY);
	}
}

/*
 * Whether the kernel still holds bytes of the reply, unsent or unacked
 * (SIOCOUTQ): closed now, it would keep them, and keep sending them to a
 * client that reads slowly or not at all, long after the deadline, in
 * memory no limit of fingerd's counts.  On loopback a client that reads
 * as the reply comes has acknowledged it by the last send's completion
 * (a 1 KiB plan at 64 connections: all but 0.03% of the exchanges);
 * over a network the acknowledgement takes a round trip, and the
 * client's EOF comes after it.  A descriptor that cannot say (a pipe
 * from inetd) holds nothing the kernel would send on its own.
 */
static bool
reply_in_kernel(const struct client *c)
{
	int queued;

	return ioctl(c->fd, SIOCOUTQ, &queued) == 0 && queued > 0;
}

/*
 * Replied: wait for the client's EOF, within the deadline, when it may
 * have left input unread (a close with input unread resets the
 * connection, and the reset throws away what of the reply the kernel has
 * not sent yet), and when the kernel still holds part of the reply (a
 * close would leave it to the kernel alone, past the deadline).  A
 * client that closes on EOF has acknowledged the whole reply; at the
 * deadline the connection is reset (client_leave), the bytes with it.
 * After a long reply, input that came while it streamed is looked for
 * (a call, made only then).
 */
static void
client_replied(struct context *ctx, struct client *c)
{
	char byte;

	if (!c->linger && c->sent >= REPLY_LONG &&
	    recvfrom(c->fd, &byte, 1, MSG_DONTWAIT, NULL, NULL) > 0)
		c->linger = true;
	if (!c->linger && !reply_in_kernel(c)) {
		client_end(c, E_NONE);
		return;
	}
	shutdown(c->fd, SHUT_WR);
	c->state = CLIENT_DRAIN;
	client_recv(ctx, c, OP_DRAIN);
}

static void
data_sent(struct context *ctx, struct client *c, int res)
{
	if (res < 0) {
		client_end(c, request_failed(res));
		return;
	}
	c->sent += (uint64_t)res;
	c->send_next += res;
	c->send_left -= (size_t)res;
	if (c->send_left > 0)
		client_send(ctx, c);
	else if (c->state == CLIENT_SEND_MORE)
		client_read_file(ctx, c);
	else
		client_replied(ctx, c);
}

/*
 * Draining ends at the client's EOF, or at the deadline: then a client
 * that has acknowledged the whole reply (and the FIN after it) but not
 * closed, as nc(1) may not, has had its reply, and its connection closes
 * as any other; one that holds part of it still is too slow, and reset.
 */
static void
drained(struct context *ctx, struct client *c, int res)
{
	if (res > 0)
		client_recv(ctx, c, OP_DRAIN);
	else
		client_end(c, res == -ECANCELED && reply_in_kernel(c) ?
		    E_TIMEOUT : E_NONE);
}

static void
client_log(const struct client *c)
{
	struct timespec now;
	struct exchange_record r = {
		.address = &c->address, .query = c->query,
		.query_len = c->line_len, .reply = c->reply, .cut = c->cut,
		.why = c->end == E_BAD_PROXY ? c->why :
		    c->reply != NULL && strcmp(c->reply, "no-plan") == 0 ?
		    (c->why != NULL ? c->why : "missing") : NULL,
		.end = c->end, .sent = c->sent,
	};

	clock_gettime(CLOCK_MONOTONIC, &now);
	r.us = (uint64_t)((now.tv_sec - c->started.tv_sec) * 1000000 +
	    (now.tv_nsec - c->started.tv_nsec) / 1000);
	log_exchange(&r);
	counters_exchange(r.reply, r.end);	/* what the line says */
}

/* The connection's end: logged, its address no longer counted. */
static void
client_finish(struct context *ctx, struct client *c)
{
	if (c->finished)
		return;
	c->finished = true;
	client_log(c);
	if (c->counted)
		address_counts_remove(ctx->addresses, &c->address);
}

/*
 * A connection ended by its deadline or evicted is reset: the kernel
 * frees it and whatever of the reply it holds at once, instead of
 * sending that on to a client that does not read, past the deadline,
 * for minutes, and the client sees an error, not a reply cut short that
 * looks whole.  A connect to AF_UNSPEC dissolves it now (tcp_disconnect
 * sends the reset and drops the send queue), however many descriptors
 * share the socket: with -i, inetd's or systemd's (Accept=yes) copy of
 * the connection would hold back the reset of a close until it closes
 * it too, at the process's exit, which a file system that holds a
 * request of c's delays too.  A kernel may refuse the disconnect:
 * Landlock's TCP rules (6.7) took an AF_UNSPEC address for an AF_INET
 * one, too short, until "landlock: Fix TCP handling of short AF_UNSPEC
 * addresses" (EINVAL).  Then SO_LINGER of 0 (as nginx's
 * reset_timedout_connection does) resets at the last close, -i's stdout
 * off the connection (fingerd.c) for inetd.  Any other end is a FIN,
 * after the whole reply (client_replied).  No request may wait on the
 * socket.  Once closed, its number may be another file's: fd is -1 from
 * then.
 */
static void
socket_close(struct context *ctx, struct client *c)
{
	static const struct linger reset = { .l_onoff = 1, .l_linger = 0 };
	static const struct sockaddr dissolve = { .sa_family = AF_UNSPEC };

	if (c->fd < 0)
		return;		/* closed at its cut (client_cut) */
	if ((c->end == E_TIMEOUT || c->end == E_EVICTED) &&
	    connect(c->fd, &dissolve, sizeof(dissolve.sa_family)) != 0)
		(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &reset,
		    sizeof(reset));
	engine_close_socket(ctx->engine, c->fd);
	c->fd = -1;
}

static void
client_leave(struct context *ctx, struct client *c)
{
	turns_unlist(&c->turn);
	worker_descriptors_freed(ctx);	/* its socket and file, at the latest */
	client_finish(ctx, c);
	if (c->timer)
		engine_cancel(ctx->engine, TAG(OP_DEADLINE,
		    client_index(ctx, c), c->serial), TAG(OP_CANCEL, 0, 0));
	close_file(ctx, c);
	socket_close(ctx, c);
	free(c->head);
	members_release(c->members);
	if (c->entry != NULL)
		plan_cache_release(ctx->cache, c->entry);
	if (c->buffer != NULL)
		SLIST_INSERT_HEAD(&ctx->free_buffers, c->buffer, free_link);
	c->state = CLIENT_FREE;
	SLIST_INSERT_HEAD(&ctx->free_clients, c, free_link);
	ctx->active--;
}

/*
 * What the kernel may hold of one client's reply: its socket's send
 * buffer, SO_SNDBUF, fixed, where Linux would grow it up to tcp_wmem's
 * 4 MiB as the client acknowledges.  So a send completes only as the
 * client reads, the deadline still has the rest of the reply to cut,
 * and -c and -a bound what clients hold in the kernel too.  The kernel
 * doubles the value, for its overhead: 128 KiB, two of the 64 KiB
 * segments loopback sends (with room for one only, each waits for a
 * delayed ACK: a 1 MiB reply took 48 ms instead of 0.2), and 1.3 MB/s
 * at an RTT of 100 ms, a 1 MiB plan (-m's default) in about a second.
 * Set on the listening socket, whose connections inherit it (no call a
 * connection), or with -i on the one connection.  Best effort: without
 * it (a pipe from inetd) only the kernel's own limits hold.
 */
#define SEND_BUFFER	(64 * 1024)

void
client_send_buffer(int fd)
{
	int size = SEND_BUFFER;

	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

/* A new connection; the loop has checked that a slot is free. */
void
client_start(struct context *ctx, int fd, const struct sockaddr_storage *ss)
{
	struct client *c = SLIST_FIRST(&ctx->free_clients);

	SLIST_REMOVE_HEAD(&ctx->free_clients, free_link);
	memset(c, 0, offsetof(struct client, query));
	c->serial = ++ctx->serial;
	ctx->active++;
	c->fd = fd;
	c->file_fd = -1;
	c->state = CLIENT_RECV_QUERY;
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	c->deadline = ((int64_t)c->started.tv_sec + ctx->options->timeout) *
	    NS_PER_SECOND + c->started.tv_nsec;
	c->turn.deadline = c->deadline;
	address_normalize(ss, &c->address);
	if (proxy_listed(&ctx->options->proxies, &c->address))
		c->proxied = true;	/* counted as the client it names */
	else if (!client_count(ctx, c))
		return;
	turns_silent(&ctx->turns, &c->turn, (int64_t)c->started.tv_sec *
	    NS_PER_SECOND + c->started.tv_nsec);
	client_recv(ctx, c, OP_RECV_QUERY);
}

/*
 * Makes room for a connection that waits: evicts the client turns_evict
 * chooses.  A silent one's connection is shut down, which completes its
 * receive, and its slot is free once that comes back: true.  One
 * waiting for a turn has nothing in flight, and leaves its slot now:
 * false, as when there is none.  *evictable_at is when the next may go,
 * 0 when none is waiting.
 */
bool
client_evict_oldest(struct context *ctx, int64_t *evictable_at)
{
	struct turn_entry *e;
	struct client *c;

	if ((e = turns_evict(&ctx->turns, monotonic_ns(), evictable_at)) ==
	    NULL)
		return false;
	c = client_of(e);
	if (!client_cut(ctx, c, E_EVICTED))
		return true;
	client_leave(ctx, c);
	return false;
}

/*
 * The client's deadline passed.  A request on its socket completes
 * -ECANCELED, which ends the exchange; one that a file system holds may
 * not come back for long, so the connection ends now.  One waiting for
 * its home's turn has nothing in flight: it leaves its slot.
 */
static void
client_expired(struct context *ctx, struct client *c, uint32_t serial)
{
	if (serial != c->serial || !on_file(c))
		return;
	if (client_cut(ctx, c, E_TIMEOUT))
		client_leave(ctx, c);	/* it waited for its turn */
}

/* A completion for a client whose exchange is over: only kept tidy. */
static void
client_discard(struct client *c, enum op op, int res)
{
	if (op == OP_OPEN_PART && res >= 0)
		c->file_fd = res;	/* closed as the slot is left */
}

void
client_complete(struct context *ctx, uint64_t tag, int res)
{
	struct client *c = &ctx->clients[TAG_INDEX(tag)];

	if (TAG_OP(tag) == OP_DEADLINE) {	/* cancelled: no more */
		if (res != -ECANCELED)
			client_expired(ctx, c, TAG_SERIAL(tag));
		return;
	}
	c->inflight--;
	if (file_op(TAG_OP(tag)))
		file_turn_end(ctx, c);
	if (c->state == CLIENT_DONE)
		client_discard(c, TAG_OP(tag), res);
	else switch (TAG_OP(tag)) {
	case OP_RECV_QUERY:
		query_received(ctx, c, res);
		if (c->state != CLIENT_RECV_QUERY)
			turns_spoken(&ctx->turns, &c->turn);
		break;
	case OP_STAT_PART:
		part_statted(ctx, c, res);
		break;
	case OP_OPEN_PART:
		part_opened(ctx, c, res);
		break;
	case OP_STAT_OPENED:
		part_opened_statted(ctx, c, res);
		break;
	case OP_READ_PART:
		file_chunk_arrived(ctx, c, res);
		break;
	case OP_SEND:
		data_sent(ctx, c, res);
		break;
	case OP_DRAIN:
		drained(ctx, c, res);
		break;
	default:
		break;
	}
	if (c->state == CLIENT_DONE && c->inflight == 0)
		client_leave(ctx, c);
}
