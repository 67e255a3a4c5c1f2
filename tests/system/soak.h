/*
 * What the soak's three files share (soak.c: the run; soak_clients.c:
 * the load generator; soak_checks.c: the verdict and the summary): its
 * bounds, the kinds of client and what each expects, the records and
 * samples, and the state of the run.  See soak.c for what it does.
 */
#ifndef SOAK_H
#define SOAK_H

#include <sys/types.h>

#include <netinet/in.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

#define SERVER		"127.0.0.1"
#define WORKERS		2
#define DEADLINE	2		/* -t, in seconds */
/*
 * -c: with CLIENTS clients spread over WORKERS workers, no slot is ever
 * wanting, and no client is evicted; below CLIENTS / WORKERS, the silent
 * ones take slots that others wait for, and are evicted.
 */
#define SLOTS		"128"
#define FLAGS		"-B", SERVER, "-w", "2", "-t", "2", "-c", SLOTS, \
			"-m", "16777216"
#define FLAGS_TEXT	"-w 2 -t 2 -c " SLOTS
#define CLIENTS		48		/* threads, a connection each */
#define SILENT_MAX	12		/* silent clients at once, at most */
#define BIG_PLAN	(8 << 20)	/* zoe's, for the resetting clients */
#define RESET_READ_MAX	65536		/* they read 1 to this many bytes */
#define RESET_RCVBUF	4096		/* so the reply cannot all be sent */
/* How long a client waits for an exchange, and for connect() or send(). */
#define EXCHANGE_BOUND	(DEADLINE + 10.0 * wait_scale())
#define SEND_BOUND	(5 * wait_scale())
#define HUP_MIN		2.0		/* seconds between reloads */
#define HUP_MAX		6.0
#define KILL_MIN	6.0		/* seconds between kills */
#define KILL_MAX	14.0
/*
 * A kill may take the lines of exchanges that ended up to LOST_BEFORE
 * before it (its worker writes them within 10 ms; the client may see the
 * end later than the worker), and cuts the ones in flight, which their
 * clients see end up to CUT_AFTER after it.
 */
#define LOST_BEFORE	0.2
#define CUT_AFTER	0.5
/*
 * Memory: a worker is warm WARM seconds after it is first seen; then it
 * must not grow by more than RSS_GROWTH.  Nothing it holds grows with
 * the exchanges it has served: the client slots and the plan buffers are
 * pools sized by the clients at once (at most CLIENTS; zoe's 8 MiB is
 * above the cache's largest entry, so it is streamed through them), the
 * cache holds five small replies, the log queue is one fixed block.  A
 * generation lives HUP_MIN to HUP_MAX seconds, some 10,000 to 30,000
 * exchanges a worker: 2 MiB is a leak of about 100 bytes an exchange,
 * and some ten times what a warm worker was seen to vary by.
 */
#define WARM		2.0
#define RSS_GROWTH	2048		/* KiB */
#define SETTLE_BOUND	65.0		/* a restart backs off a minute */
#define IDLE_BOUND	5.0
#define KIND_BITS	21
#define KIND_SPACE	(1U << KIND_BITS)

#define LOGIN_ZOE	"Login: zoe\tName: Zoe Elsewhere\r\n"

enum kind {
	NORMAL,		/* a member's reply, read whole */
	CONTROL,	/* a 1,023-byte line of control bytes */
	FORWARDING,	/* a query with '@' */
	OVERLONG,	/* more than 1,024 bytes without a LF */
	SILENT,		/* sends nothing */
	RESETTING,	/* reads a little of zoe's 8 MiB, then RST */
	KINDS
};

enum outcome {
	EXACT,		/* what the kind expects */
	CUT,		/* closed early: a part, or a silent one before -t */
	RESET,		/* ECONNRESET or EPIPE */
	WRONG,		/* other bytes */
	STALLED,	/* no end within EXCHANGE_BOUND */
	UNCONNECTED,	/* connect() failed */
	OUTCOMES
};

/* The end= words, a bit each. */
enum {
	END_OK = 1, END_TIMEOUT = 2, END_GONE = 4, END_EVICTED = 8,
	END_OTHER = 16
};

static const struct {
	const char	*name;
	unsigned	 weight;	/* of 100 */
	const char	*reply;		/* the error line, for the hostile */
	const char	*word;		/* its reply= */
} kinds[KINDS] = {
	[NORMAL] =	{ "normal",	54, NULL, NULL },
	[CONTROL] =	{ "control",	5, REPLY_INVALID, "invalid" },
	[FORWARDING] =	{ "forwarding",	8, REPLY_FORWARDING,
			  "forwarding-denied" },
	[OVERLONG] =	{ "overlong",	5, REPLY_TOO_LONG, "too-long" },
	[SILENT] =	{ "silent",	8, NULL, "none" },
	[RESETTING] =	{ "resetting",	20, NULL, "plan" },
};

/* What the normal clients ask, as sent and as logged, and the reply. */
static const struct {
	const char	*line;
	const char	*query;
	const char	*reply;
	const char	*word;
} normals[] = {
	{ "alice\r\n",	"alice",	REPLY_ALICE,	"plan" },
	{ "bob\r\n",	"bob",		REPLY_BOB,	"plan" },
	{ "carol\r\n",	"carol",	REPLY_CAROL,	"no-plan" },
	{ "dan\n",	"dan",		REPLY_DAN,	"plan" },
	{ "erin\r\n",	"erin",		REPLY_ERIN,	"plan" },
	{ "\r\n",	"",		REPLY_LIST LIST_ZOE, "list" },
};
#define NORMALS	(sizeof(normals) / sizeof(normals[0]))

/* One exchange, as its client saw it. */
struct record {
	double		 start;
	double		 end;
	uint32_t	 seq;		/* its address in its kind's range */
	uint8_t		 kind;
	uint8_t		 outcome;
	uint16_t	 error;		/* errno, for UNCONNECTED */
};

struct client {
	pthread_t	 thread;
	uint64_t	 rng;
	struct record	*records;
	size_t		 n;
	size_t		 size;
	char		 buf[RESET_READ_MAX];	/* a resetting one's */
};

/* One reading of /proc: the supervisor (generation 0) or a worker. */
struct sample {
	double		 t;
	pid_t		 pid;
	unsigned	 generation;
	unsigned	 fds;
	unsigned long	 rss;		/* KiB */
};

/* Per client address: what its exchanges let the log hold. */
struct address {
	uint16_t	 sure;		/* exchanges whose line must be there */
	uint16_t	 maybe;		/* whose line a kill may have taken */
	uint16_t	 logged;
	uint8_t		 ends;		/* END_* of its lines */
};

/* What the end finds: counts, and a line for each failure. */
struct verdict {
	size_t		 outcomes[KINDS][OUTCOMES];
	size_t		 excused[KINDS];	/* cut or reset by a kill */
	size_t		 evicted[KINDS];
	size_t		 failed[KINDS];
	size_t		 lines[KINDS];
	size_t		 sure, maybe, logged, missing, extra, bad;
	size_t		 unlogged;	/* near a kill: excused */
	size_t		 announced, killed_lines;
	size_t		 cut_lines;	/* a killed worker's, cut short */
	unsigned long	 lost;		/* lines the daemon says it lost */
	unsigned long long status;	/* its status line's exchanges= */
	size_t		 status_lines;
	double		 longest[KINDS];	/* seconds */
	double		 latest_cut;	/* after its kill, seconds */
	double		 latest_close;	/* a silent one's, after -t */
	size_t		 failures;
	char		 shown[20][256];	/* the first failures */
	size_t		 nshown;
};

/* The soak's state: soak.c's, its clients' and its checks'. */
struct soak_state {
	double		 seconds;
	uint64_t	 seed;
	char		*big;		/* zoe's reply */
	size_t		 big_len;
	int		 stop;		/* atomic */
	int		 silent;	/* atomic: silent clients now */
	uint32_t	 seq[KINDS];	/* atomic */
	double		 t0;		/* the clients' start */
	double		*kills;
	size_t		 nkills;
	size_t		 kills_size;
	pthread_mutex_t	 lock;		/* wrong, nwrong */
	char		 wrong[3][256];	/* the first wrong replies */
	size_t		 nwrong;
	unsigned	 hups;
	unsigned	 idle_fds;	/* a worker's, before any client */
	unsigned	 generation;	/* the workers', at the end */
	unsigned	 end_fds[WORKERS];
	size_t		 end_workers;
	bool		 settled;	/* WORKERS of the last generation */
	struct sample	*samples;
	size_t		 nsamples;
	size_t		 samples_size;
	struct client	 clients[CLIENTS];
	struct address	*addresses[KINDS];
	size_t		 used[KINDS];	/* addresses used, of KIND_SPACE */
};

extern struct soak_state soak;

/*
 * Memory and descriptors, from the samples.  A worker's growth is from
 * its first warm sample to its largest; a generation's peak is its
 * workers' largest, and the median of the last third of generations is
 * compared with the first third's (a median, as one generation may have
 * built zoe's 8 MiB twice at once).
 */
struct memory {
	unsigned long	 sup_rss_min, sup_rss_max, sup_rss_first, sup_rss_last;
	unsigned	 sup_fds_min, sup_fds_max, sup_fds_first, sup_fds_last;
	unsigned long	 rss_min, rss_max;
	unsigned	 fds_max;
	unsigned long	 growth;	/* the largest of a warm worker */
	pid_t		 growth_pid;
	unsigned long	 early, late;	/* median generation peaks */
	size_t		 generations;
};

/* soak_clients.c */
size_t	 random_below(uint64_t *, size_t);
double	 random_between(uint64_t *, double, double);
void	*grow(void *, size_t *, size_t, size_t);
double	 env_number(const char *, double);
in_addr_t address_of(enum kind, uint32_t);
bool	 address_kind(in_addr_t, enum kind *, uint32_t *);
void	*client_main(void *);

/* soak_checks.c */
void	 verdict_make(struct verdict *);
void	 supervisor_memory(struct memory *);
void	 worker_memory(struct memory *);
void	 summary(const struct verdict *, const struct memory *);
void	 verdict_assert(const struct verdict *, const struct memory *, int);

#endif /* SOAK_H */
