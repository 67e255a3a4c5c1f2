/*
 * client.c and reply.c: a client slot, shared by the exchange's state
 * machine (client.c) and the building of its reply from the cache, the
 * plan streamed and /W's parts (reply.c).  Nothing else sees it.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <sys/stat.h>

#include <linux/openat2.h>

#include "fingerd.h"

/* Bytes of a member's file (.plan, .project, .pgpkey) read at once. */
#define FILE_CHUNK	16384
/* Bytes of a .project looked at for its first line; of a .pgpkey sent. */
#define PROJECT_READ	4096
#define PGPKEY_MAX	65536
#define PLAN_HEADER	"Plan:\r\n"

/*
 * Buffers for a plan transfer, taken from a free list when a member's plan
 * is opened and given back when the client leaves its slot: at most one
 * per client, never freed before exit.  out holds the Login line, the Plan
 * line and a whole filtered chunk, so the filter never reallocates.
 */
struct plan_buffer {
	SLIST_ENTRY(plan_buffer) free_link;
	uint8_t			 in[FILE_CHUNK];
	uint8_t			 out[sizeof("Login: \tName: \r\n") +
				    2 * FIELD_MAX + sizeof(PLAN_HEADER) +
				    PLAN_FILTER_BOUND(FILE_CHUNK) +
				    PLAN_FINISH_BOUND];
};

enum client_state {
	CLIENT_FREE,
	CLIENT_RECV_QUERY,
	CLIENT_STAT_PART,	/* statx of the path */
	CLIENT_OPEN_PART,
	CLIENT_STAT_OPENED,	/* statx of the descriptor */
	CLIENT_READ_PART,
	CLIENT_SEND_MORE,	/* then read more of the part */
	CLIENT_SEND_LAST,	/* then close */
	CLIENT_DRAIN,		/* replied; reading to EOF before the close */
	CLIENT_DONE
};

/*
 * A client slot.  It owns fd and file_fd (closed in client_leave; fd
 * at once when the connection is cut while a file system holds the
 * slot, and -1 from then), holds a reference on members and, while a
 * plan is sent, a plan_buffer; with /W, its head.
 */
struct client {
	SLIST_ENTRY(client)	 free_link;	/* while free */
	struct turn_entry	 turn;		/* its turns, its eviction */
	uint32_t		 serial;	/* in its tags */
	enum client_state	 state;
	unsigned		 inflight;	/* SQEs whose CQE is due */
	int			 fd;		/* -1 when closed */
	int			 file_fd;	/* -1 when closed */
	bool			 linger;	/* input may be left unread */
	uint8_t			 cut;		/* CUT_PLAN, CUT_PGPKEY */
	bool			 finished;	/* logged, address uncounted */
	bool			 timer;		/* an OP_DEADLINE timer set */
	enum fingerd_error	 end;		/* why it ended early */
	const char		*reply;		/* what was sent, for the log */
	const char		*why;		/* of "no-plan", "bad-proxy" */
	bool			 proxied;	/* its PROXY header awaited (-p) */
	bool			 counted;	/* its address, for -a */
	int64_t			 deadline;	/* CLOCK_MONOTONIC ns */
	struct timespec		 started;
	struct in6_addr		 address;
	struct members		*members;
	const struct member	*member;
	struct plan_buffer	*buffer;
	struct cached_plan	*entry;		/* sent from, or being built */
	size_t			 entry_len;	/* bytes built so far */
	bool			 keep;		/* build for the cache, not self */
	bool			 read_error;	/* a file read short: not kept */
	struct plan_filter	 filter;
	struct open_how		 how;
	struct statx		 stx;		/* the kernel writes it */
	uint64_t		 arm;		/* of the plan's watch */
	const uint8_t		*send_next;
	size_t			 send_left;
	uint64_t		 sent;
	struct reply_key	 key;		/* its files, keyed or read */
	uint8_t			 part;		/* the file keyed or read */
	uint8_t			*head;		/* /W: Login line and parts */
	size_t			 head_len, head_size;
	uint64_t		 file_offset;
	uint64_t		 file_end;	/* its size at open, or its cap */
	size_t			 query_len;
	size_t			 line_len;
	char			 query[QUERY_MAX];	/* last: not cleared */
};

/* client_start() clears every field but query, which must stay last. */
_Static_assert(offsetof(struct client, query) + QUERY_MAX ==
    sizeof(struct client), "query is not the last field of struct client");

/* client.c: the requests that build a reply, and its ends */
void	 client_send(struct context *, struct client *);
void	 client_reply(struct context *, struct client *, const char *,
	    const void *, size_t);
void	 client_end(struct client *, enum fingerd_error);
void	 close_file(struct context *, struct client *);
void	 client_read_file(struct context *, struct client *);
void	 client_open_next(struct context *, struct client *);

/* reply.c */
bool	 buffer_take(struct context *, struct client *);
void	 client_no_plan(struct context *, struct client *);
bool	 reply_cached(struct context *, struct client *,
	    const struct reply_key *);
void	 file_chunk_arrived(struct context *, struct client *, int);
void	 plan_start(struct context *, struct client *);
void	 extra_start(struct context *, struct client *);

#endif /* CLIENT_H */
