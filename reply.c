/*
 * The reply, built from its files as they are read (client.c makes the
 * requests): a cached reply made of these very files sent as it is;
 * otherwise the plan converted into a new cache entry when the cache has
 * room for it, or streamed chunk by chunk through the client's buffer;
 * with /W, the .project's first line and the .pgpkey gathered first in
 * the client's head.  "No Plan." when there is none.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fingerd.h"
#include "client.h"

static const char plan_header[] = PLAN_HEADER;
static const char no_plan[] = "No Plan.\r\n";
static const char project_header[] = "Project: ";
static const char pgpkey_header[] = "PGP key:\r\n";


static const char *const part_names[PARTS] = {
	[PART_PROJECT] = ".project", [PART_PGPKEY] = ".pgpkey",
	[PART_PLAN] = ".plan",
};

/* Writes the Login line and line2 at out; returns their length. */
static size_t
out_start(const struct client *c, uint8_t *out, const char *line2,
    size_t len2)
{
	memcpy(out, c->member->login_line, c->member->login_line_len);
	memcpy(out + c->member->login_line_len, line2, len2);
	return c->member->login_line_len + len2;
}

bool
buffer_take(struct context *ctx, struct client *c)
{
	struct plan_buffer *b = SLIST_FIRST(&ctx->free_buffers);

	if (c->buffer != NULL)
		return true;
	if (b != NULL)
		SLIST_REMOVE_HEAD(&ctx->free_buffers, free_link);
	else if ((b = malloc(sizeof(*b))) == NULL) {
		log_warnx("out of memory for a plan buffer");
		client_end(c, E_SERVER);
		return false;
	}
	c->buffer = b;
	return true;
}

/*
 * /W's head: the Login line, then the project and key parts as they are
 * read, then the Plan line (or "No Plan.").  It grows to hold more bytes
 * and the line that ends it; false when out of memory (the exchange
 * ends).
 */
static bool
head_room(struct client *c, size_t more)
{
	size_t need = c->head_len + more + sizeof(plan_header) +
	    sizeof(no_plan);
	uint8_t *head;

	if (c->head == NULL)
		need += c->member->login_line_len;
	if (need <= c->head_size)
		return true;
	if ((head = realloc(c->head, need)) == NULL) {
		log_warnx("out of memory for a /W reply");
		client_end(c, E_SERVER);
		return false;
	}
	if (c->head == NULL)
		c->head_len = out_start(c, head, "", 0);
	c->head = head;
	c->head_size = need;
	return true;
}

static void
head_add(struct client *c, const void *data, size_t len)
{
	memcpy(c->head + c->head_len, data, len);
	c->head_len += len;
}

/* No plan: "No Plan." after the Login line (and /W's parts). */
void
client_no_plan(struct context *ctx, struct client *c)
{
	size_t len;

	close_file(ctx, c);
	if (c->head != NULL) {
		head_add(c, no_plan, sizeof(no_plan) - 1);
		client_reply(ctx, c, "no-plan", c->head, c->head_len);
		return;
	}
	if (!buffer_take(ctx, c))
		return;
	len = out_start(c, c->buffer->out, no_plan, sizeof(no_plan) - 1);
	client_reply(ctx, c, "no-plan", c->buffer->out, len);
}

/* What was cut of a reply made of the files of this key. */
static uint8_t
cuts(const struct context *ctx, const struct reply_key *key)
{
	uint8_t cut = 0;

	if ((key->present & PART_BIT(PART_PLAN)) &&
	    key->file[PART_PLAN].size > ctx->options->plan_max)
		cut |= CUT_PLAN;
	if ((key->present & PART_BIT(PART_PGPKEY)) &&
	    key->file[PART_PGPKEY].size > PGPKEY_MAX)
		cut |= CUT_PGPKEY;
	return cut;
}

/* Sends the cached reply to this member made of the files of key, if any. */
bool
reply_cached(struct context *ctx, struct client *c,
    const struct reply_key *key)
{
	const struct member *m = c->member;

	c->entry = plan_cache_find(ctx->cache, key, m->login_line,
	    m->login_line_len, monotonic_ns());
	if (c->entry == NULL)
		return false;
	c->cut = cuts(ctx, key);
	client_reply(ctx, c, key->present & PART_BIT(PART_PLAN) ? "plan" :
	    "no-plan", plan_cache_data(c->entry), plan_cache_len(c->entry));
	return true;
}

/* The home comes from the user database: escaped, like all logged text. */
static void
file_read_failed(const struct client *c, int error)
{
	char home[1024];

	log_escape(home, sizeof(home), c->member->home,
	    strlen(c->member->home));
	errno = error;
	log_warn("reading %s/%s", home, part_names[c->part]);
}

/*
 * Streaming: a chunk joins whatever out already holds (the Login and
 * Plan lines, before the first chunk) and is sent before the next read.
 */
static void
plan_streamed(struct context *ctx, struct client *c, size_t n, bool last)
{
	uint8_t *out = c->buffer->out + c->send_left;

	out += plan_filter_chunk(&c->filter, c->buffer->in, n, out);
	if (last) {
		out += plan_filter_finish(&c->filter, out);
		close_file(ctx, c);
	}
	c->send_next = c->buffer->out;
	c->send_left = (size_t)(out - c->buffer->out);
	c->state = last ? CLIENT_SEND_LAST : CLIENT_SEND_MORE;
	if (c->send_left > 0)
		client_send(ctx, c);
	else if (!last)
		client_read_file(ctx, c);
	else
		client_end(c, E_NONE);
}

/* Converting: the whole plan goes into its entry, then is sent. */
static void
plan_converted(struct context *ctx, struct client *c, size_t n, bool last)
{
	uint8_t *data = plan_cache_data(c->entry);

	c->entry_len += plan_filter_chunk(&c->filter, c->buffer->in, n,
	    data + c->entry_len);
	if (!last) {
		client_read_file(ctx, c);
		return;
	}
	c->entry_len += plan_filter_finish(&c->filter, data + c->entry_len);
	close_file(ctx, c);
	if (c->keep && !c->read_error)	/* a reply cut by an error: once */
		plan_cache_insert(ctx->cache, c->entry,
		    c->member->login_line_len, c->entry_len);
	client_reply(ctx, c, "plan", data, c->entry_len);
}

/*
 * A chunk of .project or .pgpkey is in: the project's first line, once
 * it has come whole, or the key's chunk, filtered into the head.  At the
 * end of the file the next part is opened.
 */
static void
extra_chunk_arrived(struct context *ctx, struct client *c, size_t n,
    bool last)
{
	const uint8_t *in = c->buffer->in;

	if (c->part == PART_PROJECT) {
		if (!last && memchr(in, '\n', c->file_offset) == NULL &&
		    memchr(in, '\r', c->file_offset) == NULL) {
			client_read_file(ctx, c);
			return;
		}
		c->head_len += plan_first_line(in, c->file_offset,
		    c->head + c->head_len);
	} else {
		c->head_len += plan_filter_chunk(&c->filter, in, n,
		    c->head + c->head_len);
		if (!last) {
			client_read_file(ctx, c);
			return;
		}
		c->head_len += plan_filter_finish(&c->filter,
		    c->head + c->head_len);
	}
	close_file(ctx, c);
	c->part++;
	client_open_next(ctx, c);
}

/*
 * A chunk of the file is in.  At the end of the file, or at its cap, it
 * ends.
 */
void
file_chunk_arrived(struct context *ctx, struct client *c, int res)
{
	bool last;

	if (res == -ECANCELED) {	/* a file request takes no deadline */
		client_end(c, E_SERVER);
		return;
	}
	if (res < 0) {
		if (!c->read_error)	/* one warning an exchange (worker.c) */
			file_read_failed(c, -res);
		c->read_error = true;
		res = 0;
	}
	KERNEL_WROTE(c->buffer->in + (c->part == PART_PROJECT ?
	    c->file_offset : 0), (size_t)res);
	c->file_offset += (uint64_t)res;
	last = res == 0 || c->file_offset >= c->file_end;
	if (c->part != PART_PLAN)
		extra_chunk_arrived(ctx, c, (size_t)res, last);
	else if (c->entry != NULL)
		plan_converted(ctx, c, (size_t)res, last);
	else
		plan_streamed(ctx, c, (size_t)res, last);
}

/*
 * The plan, after the Login line (and /W's parts).  A cached reply made
 * of these very files is sent as it is.  Otherwise the plan is converted
 * into a new entry when the cache has room for it, or streamed through
 * the client's buffer (after /W's head) when it has not.
 */
void
plan_start(struct context *ctx, struct client *c)
{
	size_t len;

	if (reply_cached(ctx, c, &c->key)) {
		close_file(ctx, c);
		return;
	}
	plan_filter_init(&c->filter, false);
	c->reply = "plan";
	if (c->head != NULL)
		head_add(c, plan_header, sizeof(plan_header) - 1);
	len = c->head != NULL ? c->head_len :
	    c->member->login_line_len + sizeof(plan_header) - 1;
	c->entry = plan_cache_reserve(ctx->cache, &c->key, len +
	    PLAN_FILTER_BOUND(c->file_end) + PLAN_FINISH_BOUND,
	    monotonic_ns());
	if (c->entry != NULL) {
		if (c->head != NULL)
			memcpy(plan_cache_data(c->entry), c->head, len);
		else
			out_start(c, plan_cache_data(c->entry), plan_header,
			    sizeof(plan_header) - 1);
		c->entry_len = len;
		c->keep = reply_key_settled(&c->key, time(NULL));
	} else if (c->head != NULL) {
		/* the head first, then the plan chunk by chunk */
		c->send_next = c->head;
		c->send_left = c->head_len;
		c->state = CLIENT_SEND_MORE;
		client_send(ctx, c);
		return;
	} else {
		c->send_next = c->buffer->out;
		c->send_left = out_start(c, c->buffer->out, plan_header,
		    sizeof(plan_header) - 1);
	}
	if (c->file_end > 0)
		client_read_file(ctx, c);
	else
		file_chunk_arrived(ctx, c, 0);
}

/*
 * .project or .pgpkey: its part begins in the head, and the file is
 * read (the project's first line only, the key up to its cap).
 */
void
extra_start(struct context *ctx, struct client *c)
{
	bool project = c->part == PART_PROJECT;

	if (!head_room(c, project ? sizeof(project_header) +
	    PLAN_FILTER_BOUND(c->file_end) + 2 : sizeof(pgpkey_header) +
	    PLAN_FILTER_BOUND(c->file_end) + PLAN_FINISH_BOUND))
		return;
	if (project) {
		head_add(c, project_header, sizeof(project_header) - 1);
	} else {
		head_add(c, pgpkey_header, sizeof(pgpkey_header) - 1);
		plan_filter_init(&c->filter, false);
	}
	if (c->file_end > 0)
		client_read_file(ctx, c);
	else
		file_chunk_arrived(ctx, c, 0);
}
