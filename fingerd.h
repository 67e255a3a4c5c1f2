/*
 * fingerd: the one private header.  A section per file; the pure files
 * (query.c, plan.c, members.c's table) never see io_uring.
 */
#ifndef FINGERD_H
#define FINGERD_H

#include <sys/queue.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define FINGERD_VERSION		"0.1.0"

/*
 * Memory the kernel filled through the ring: valgrind cannot see those
 * writes, so it is told (a few instructions, none outside valgrind).
 */
#if defined(__has_include) && __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define KERNEL_WROTE(p, n)	VALGRIND_MAKE_MEM_DEFINED((p), (n))
#else
#define KERNEL_WROTE(p, n)	((void)0)
#endif

/* CLOCK_MONOTONIC in nanoseconds: the clock of every delay and retry. */
static inline int64_t
monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#define NS_PER_SECOND	1000000000LL

/* poll(2)'s timeout until due (monotonic ns), rounded up; 0: none, -1. */
static inline int
poll_ms(int64_t due)
{
	int64_t left = due - monotonic_ns();

	return due == 0 ? -1 : left <= 0 ? 0 : (int)(left / 1000000) + 1;
}

/*
 * Something that may come too often (a worker that keeps dying, a
 * reload for a home or a .nofinger) is spaced out: after each, the next
 * is due spacing later, a spacing that goes back to first when reset
 * (a calm while, progress) and doubles up to most otherwise (from least
 * when it was 0).
 */
struct backoff {
	int64_t		 first;
	int64_t		 least;
	int64_t		 most;
	int64_t		 last;		/* monotonic ns of the last; 0: none */
	int64_t		 spacing;	/* from the last to the next */
};

#define BACKOFF(first, least, most)	\
	((struct backoff){ (first), (least), (most), 0, (first) })

/* One more at now: the spacing to the next, reset or doubled. */
static inline void
backoff_step(struct backoff *b, int64_t now, bool reset)
{
	if (reset)
		b->spacing = b->first;
	else if (b->spacing == 0)
		b->spacing = b->least;
	else if ((b->spacing *= 2) > b->most)
		b->spacing = b->most;
	b->last = now;
}

/* When the next is due: now, or the spacing after the last. */
static inline int64_t
backoff_due(const struct backoff *b, int64_t now)
{
	return b->last != 0 && b->last + b->spacing > now ?
	    b->last + b->spacing : now;
}

/* Whether none came for calm ns (or ever). */
static inline bool
backoff_calm(const struct backoff *b, int64_t now, int64_t calm)
{
	return b->last == 0 || now - b->last >= calm;
}

/* The "s" of a count's plural in a log line. */
static inline const char *
plural(size_t n)
{
	return n == 1 ? "" : "s";
}

/* The longest query line, its LF (and CR) included (fingerd.8). */
#define QUERY_MAX		1024

/* A field of the Login line (login, full name) is cut to this many bytes. */
#define FIELD_MAX		256

/*
 * errors.c: the error set.  Each value has a word for the log; the first
 * ones also have the one line sent to the client before the close.
 */
enum fingerd_error {
	E_NONE = 0,
	/* sent to the client */
	E_QUERY_TOO_LONG,
	E_QUERY_INVALID,
	E_FORWARDING_DENIED,
	E_LIST_DENIED,
	E_NO_SUCH_USER,
	E_TOO_MANY_FROM_ADDRESS,
	/* only logged */
	E_TIMEOUT,
	E_CLIENT_GONE,
	E_NO_QUERY,
	E_SERVER,
	E_EVICTED,		/* made room for another: silent, or stuck */
	E_BAD_PROXY,		/* from a -p proxy, without a valid header */
	E_COUNT			/* not an error: how many values there are */
};

const char	*error_reply(enum fingerd_error);
const char	*error_name(enum fingerd_error);

/* log.c: whole lines on stderr; see there for the queue. */
struct exchange_record {
	const struct in6_addr	*address;
	const char		*query;		/* as received, not terminated */
	size_t			 query_len;
	const char		*reply;		/* what was sent, or NULL */
	const char		*why;		/* a plan not sent, or NULL */
	unsigned		 cut;		/* CUT_PLAN, CUT_PGPKEY */
	enum fingerd_error	 end;
	uint64_t		 sent;		/* bytes */
	uint64_t		 us;		/* from accept to close */
};

/* What an exchange's reply had cut (the log says "-cut", "-key-cut"). */
#define CUT_PLAN	1	/* the plan at -m */
#define CUT_PGPKEY	2	/* the .pgpkey at 64 KiB */

/*
 * How long a new connection has for its query before it can be evicted,
 * while the worker is calm (turns_evict): far more than a real
 * client's query takes after its handshake (the two leave together).
 */
#define EVICT_GRACE_NS	(NS_PER_SECOND / 50)

/*
 * How long a home's (or mount's) turns may give no request back before
 * the queries waiting for them may be evicted: a file system that hangs,
 * not one that is slow (an NFS request under load takes milliseconds).
 */
#define TURN_STUCK_NS	NS_PER_SECOND

/* How long the last lines may take at exit, the log being slow. */
#define LOG_GRACE_NS	NS_PER_SECOND
/*
 * How long the supervisor (or, with -i, the one process) waits at its
 * exit for a stalled log to take its last lines and the count of those
 * lost (fingerd.8, Logging).
 */
#define LOG_EXIT_GRACE_NS	(3 * NS_PER_SECOND)
/* The supervisor's lines that may wait for a slow log: a few a worker. */
#define SUPERVISOR_LINES	(8 * WORKERS_MAX)

void		 log_init(const char *);
bool		 log_syslog(bool);
void		 log_start_keep(void);
void		 log_start_over(void);
const char	*log_syslog_path(void);
void		 log_exchange(const struct exchange_record *);
void		 log_file_append(void);
bool		 log_queue_start(size_t);
void		 log_queue_stop(int64_t);
unsigned long	 log_lost_take(void);
void		 log_lost_add(unsigned long);
void		 log_lost_note(int64_t);
void		 log_reconnect(void);
void		 log_end(int64_t);
bool		 log_nonblocking(size_t);
int		 log_fd(void);
void		 log_forked(void);
void		 log_stderr_nonblocking(void);
bool		 log_flush(void);
bool		 log_room(size_t);
int64_t		 log_due(void);
bool		 log_next(const void **, size_t *);
bool		 log_wrote(int);
void		 log_info(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
void		 log_warn(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
void		 log_warnx(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
void		 fatal(int, const char *, ...)
		    __attribute__((format(printf, 2, 3), noreturn));
void		 fatalx(int, const char *, ...)
		    __attribute__((format(printf, 2, 3), noreturn));
size_t		 log_escape(char *, size_t, const char *, size_t);
size_t		 log_shell_operand(char *, size_t, const char *, size_t);
bool		 log_whole(size_t);
uint64_t	 log_lost(void);

/* query.c: the RFC 1288 query grammar. */
enum query_kind {
	QUERY_LIST,		/* empty query or /W alone: list the members */
	QUERY_USER		/* one user name */
};

struct query {
	enum query_kind	 kind;
	bool		 verbose;	/* /W was given */
	const char	*user;		/* into the parsed line, not terminated */
	size_t		 user_len;
};

enum fingerd_error	 query_parse(const char *, size_t, struct query *);
bool			 query_line_end(const char *, size_t, size_t *);

/*
 * plan.c: LF to CRLF and the terminal-safety filter, one chunk at a time.
 * The state carries what a chunk boundary may split: a CR waiting for its
 * LF and up to three bytes of a UTF-8 sequence.
 */
struct plan_filter {
	uint8_t		 pending[4];	/* an unfinished UTF-8 sequence */
	uint8_t		 pending_len;
	uint8_t		 need;		/* continuation bytes still to come */
	uint8_t		 next_min;	/* range of the next byte */
	uint8_t		 next_max;
	uint8_t		 last;		/* last byte written, 0 if none */
	bool		 fields_only;	/* also drop TAB, CR, LF */
};

/* Most bytes plan_filter_chunk() writes for n bytes of input. */
#define PLAN_FILTER_BOUND(n)	(2 * (size_t)(n) + 4)
/* Most bytes plan_filter_finish() writes. */
#define PLAN_FINISH_BOUND	2

void	 plan_filter_init(struct plan_filter *, bool);
size_t	 plan_filter_chunk(struct plan_filter *, const uint8_t *, size_t,
	    uint8_t *);
size_t	 plan_filter_finish(struct plan_filter *, uint8_t *);
size_t	 plan_filter_field(const char *, uint8_t *, size_t);
size_t	 plan_first_line(const uint8_t *, size_t, uint8_t *);

/*
 * members.c: the group's members, loaded at start and on SIGHUP.  A table
 * is shared by reference: a client keeps the one it started with until it
 * closes, so a reload never pulls a name or a path from under a transfer.
 */
struct member {
	char		*login;
	char		*home;
	bool		 watchable;	/* watches.c may watch its files */
	uint8_t		 reach;		/* enum home_reach: homes.c */
	bool		 hidden;	/* ~/.nofinger: served as no one */
	unsigned	 mount;		/* its home's: the first member on it */
	char		*plan;		/* home/.plan */
	char		*project;	/* home/.project */
	char		*pgpkey;	/* home/.pgpkey */
	char		*login_line;	/* "Login: x\tName: y\r\n" */
	size_t		 login_line_len;
	char		*name;		/* filtered; the supervisor's only */
};

struct members {
	unsigned	 refs;
	size_t		 count;
	struct member	*v;		/* sorted by login */
	char		*list;		/* the reply to the empty query */
	size_t		 list_len;
	const void	*block;		/* unpacked: the strings are there */
};

/* One account as the user database gives it, for members_build(). */
struct account {
	char		*login;
	char		*gecos;
	char		*home;
	gid_t		 gid;
};

#define MEMBERS_NO_GROUP	"no such group"

struct members	*members_build(gid_t, char *const *, const struct account *,
		    size_t);
bool		 members_send(FILE *, const char *);
struct members	*members_received(const char *, size_t, const char **);
void		 members_hidden_keep(struct members *, const struct members *);
bool		 members_render_list(struct members *);
const struct member *members_find(const struct members *, const char *,
		    size_t);
struct members	*members_hold(struct members *);
void		 members_release(struct members *);
void		*members_pack(const struct members *, size_t *);
struct members	*members_unpack(const void *, size_t);

/*
 * addresses.c: connections at once per client address (-a).  IPv4 and
 * v4-mapped IPv6 count as the same address.
 */
struct address_counts;

struct address_counts *address_counts_new(size_t);
void		 address_counts_free(struct address_counts *);
void		 address_limit_key(const struct in6_addr *, struct in6_addr *);
unsigned	 address_counts_add(struct address_counts *,
		    const struct in6_addr *);
void		 address_counts_remove(struct address_counts *,
		    const struct in6_addr *);
void		 address_normalize(const struct sockaddr_storage *,
		    struct in6_addr *);
size_t		 address_format(const struct in6_addr *, char *, size_t);
void		 socket_address_format(const struct sockaddr_storage *, char *,
		    size_t);

/*
 * proxy.c: HAProxy's PROXY protocol (-p), with no I/O.  The listed
 * prefixes are a plain fixed-size table, so that the supervisor can copy
 * it into the workers' setup as it is.  An IPv4 prefix is kept as its
 * v4-mapped IPv6 form, the form every address in fingerd has.
 */
#define PROXY_PREFIXES_MAX	64

struct proxy_prefix {
	struct in6_addr	 address;	/* the bits past length are zero */
	uint8_t		 length;	/* in bits, of the IPv6 form */
};

struct proxy_table {
	unsigned		 count;
	struct proxy_prefix	 v[PROXY_PREFIXES_MAX];
};

/*
 * The longest header: v1's line with its CRLF (the protocol's own
 * bound), and v2's 16 bytes with the most address and TLV bytes that
 * fingerd takes (proxy.c says why).
 */
#define PROXY_V1_MAX		107
#define PROXY_V2_LENGTH_MAX	520
#define PROXY_HEADER_MAX	(16 + PROXY_V2_LENGTH_MAX)

enum proxy_status {
	PROXY_MORE,		/* a valid start: receive more bytes */
	PROXY_DONE,		/* a whole header: drop its length bytes */
	PROXY_INVALID		/* close without a reply; log why */
};

struct proxy_header {
	size_t		 length;	/* PROXY_DONE: the header's bytes */
	bool		 local;		/* the connection's own address */
	struct in6_addr	 address;	/* the client's unless local */
	const char	*why;		/* PROXY_INVALID: a word for the log */
};

const char	*proxy_table_add(struct proxy_table *, const char *);
bool		 proxy_listed(const struct proxy_table *,
		    const struct in6_addr *);
enum proxy_status proxy_header_parse(const void *, size_t,
		    struct proxy_header *);

/* privileges.c */
struct privileges {
	bool	 as_root;
	uid_t	 uid;
	gid_t	 gid;
};

void	 privileges_plan(const char *, struct privileges *);
void	 privileges_drop(const struct privileges *);

/* cache.c: converted plans, keyed by the file's identity and Login line. */
#define PLAN_CACHE_BYTES	(32 * 1024 * 1024)
/* How long a reply is served from memory before its files are read again. */
#define CACHE_TRUSTED_NS	(2 * NS_PER_SECOND)

struct plan_key {
	uint64_t	 dev, ino, size;
	int64_t		 mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};

/*
 * The files of a member's reply, in the order it shows them: /W shows
 * the project and the key before the plan.
 */
enum part {
	PART_PROJECT,
	PART_PGPKEY,
	PART_PLAN,
	PARTS
};

#define PART_BIT(p)	(1u << (p))

/* A reply's key: which of its files are there, each as it is now. */
struct reply_key {
	struct plan_key	 file[PARTS];	/* zero where absent */
	uint8_t		 present;	/* PART_BIT()s */
	bool		 verbose;	/* /W */
};

struct plan_cache;
struct cached_plan;
struct statx;

void		 plan_key_from_statx(struct plan_key *, const struct statx *);
bool		 plan_key_settled(const struct plan_key *, time_t);
bool		 plan_key_equal(const struct plan_key *,
		    const struct plan_key *);
bool		 reply_key_equal(const struct reply_key *,
		    const struct reply_key *);
bool		 reply_key_settled(const struct reply_key *, time_t);
struct plan_cache *plan_cache_new(size_t);
void		 plan_cache_free(struct plan_cache *);
struct cached_plan *plan_cache_find(struct plan_cache *,
		    const struct reply_key *, const char *, size_t, int64_t);
struct cached_plan *plan_cache_reserve(struct plan_cache *,
		    const struct reply_key *, size_t, int64_t);
void		 plan_cache_insert(struct plan_cache *, struct cached_plan *,
		    size_t, size_t);
void		 plan_cache_release(struct plan_cache *, struct cached_plan *);
uint8_t		*plan_cache_data(struct cached_plan *);
size_t		 plan_cache_len(const struct cached_plan *);
size_t		 plan_cache_bytes(const struct plan_cache *);

/* userdb.c: the user database's files, watched for the supervisor. */
struct userdb_watch;
struct userdb_watch *userdb_watch_open(void);
int		 userdb_watch_fd(const struct userdb_watch *);
bool		 userdb_watch_changed(struct userdb_watch *);
void		 userdb_watch_close(struct userdb_watch *);

/*
 * userdb.c: the user database read by a child (members_send), so that a
 * source that does not answer holds the child, never the supervisor.
 */
#define USERDB_STALL_NS	(10LL * NS_PER_SECOND)
struct userdb_reading {
	pid_t		 pid;		/* 0: none */
	int		 fd;		/* the pipe's end, -1: none */
	char		*text;		/* what came so far */
	size_t		 len, size;
	int64_t		 heard;		/* the last bytes, monotonic ns */
	bool		 said;		/* that it was silent, once */
	char		 why[128];	/* a failure's, as the child said */
};
bool		 userdb_reading_start(struct userdb_reading *, const char *,
		    const int *, size_t);
int		 userdb_reading_read(struct userdb_reading *,
		    struct members **, const char **);
int64_t		 userdb_reading_due(const struct userdb_reading *);
bool		 userdb_reading_stalled(struct userdb_reading *);
void		 userdb_reading_stop(struct userdb_reading *);
#define USERDB_UNANSWERED	"the user database did not answer in time"
#define USERDB_STOPPED		"stopped while the user database was read"
struct members	*userdb_reading_wait(const char *, const int *, size_t,
		    int64_t, int, const char *, const char **);

/* watches.c: plans known unchanged through inotify, so not looked at. */
struct plan_watches;

struct plan_watches *watches_new(void);
void		 watches_free(struct plan_watches *);
int		 watches_fd(const struct plan_watches *);
bool		 watches_key(const struct plan_watches *, const char *,
		    struct plan_key *, int64_t);
uint64_t	 watches_arm(struct plan_watches *, const char *, const char *,
		    int64_t);
void		 watches_confirm(struct plan_watches *, const char *, uint64_t,
		    const struct plan_key *, int64_t);
void		 watches_events(struct plan_watches *, const void *, size_t);
void		 watches_drop_all(struct plan_watches *);
void		 watches_disable(struct plan_watches *);

/* mounts.c: the mount table, for the survey of the homes (homes.c). */
struct mount_table;
struct mount_table *mount_table_parse(const char *);
void		 mount_table_free(struct mount_table *);
bool		 mount_table_type(const struct mount_table *, const char *,
		    char *, size_t, unsigned long *);
bool		 mount_table_watchable(const struct mount_table *,
		    const char *, unsigned long *);

/*
 * counters.c: the counts of the status line (SIGUSR1) and of -M, since
 * start.  A count is a uint64_t at an index: an exchange's by its reply
 * and its end, then the cache's and the log's.  A reply is REPLY_* for
 * the words client.c gives it, or REPLY_ERROR(e) for an error line.
 */
#define REPLY_NONE		0
#define REPLY_PLAN		1
#define REPLY_NO_PLAN		2
#define REPLY_LIST		3
#define REPLIES			4
#define REPLY_ERROR(e)		(REPLIES + (unsigned)(e))
#define REPLY_KINDS		(REPLIES + E_COUNT)
#define COUNTER_EXCHANGE(reply, end)	((reply) * E_COUNT + (unsigned)(end))
#define COUNTER_CACHE_HITS	(REPLY_KINDS * E_COUNT)
#define COUNTER_CACHE_MISSES	(COUNTER_CACHE_HITS + 1)
#define COUNTER_LOG_LOST	(COUNTER_CACHE_HITS + 2)
#define COUNTERS		(COUNTER_CACHE_HITS + 3)
/* -M: the file is written at least this often. */
#define METRICS_PERIOD_NS	(10LL * NS_PER_SECOND)

/* What the status line and the metrics say of the daemon besides. */
struct daemon_status {
	const char	*engine;
	unsigned	 generation;
	size_t		 workers;	/* processes, of every generation */
	size_t		 members;
	int64_t		 uptime;	/* seconds */
};

struct counters;

void		 counters_exchange(const char *, enum fingerd_error);
void		 counters_cache(bool);
void		 counters_log_lost(uint64_t);
void		 counters_attach(int);
void		 counters_start(void);
int		 counters_page_new(struct counters **);
void		 counters_fold(struct counters *);
void		 counters_sum(uint64_t *, uint64_t);
int64_t		 counters_uptime(void);
const char	*counters_reply_word(unsigned);
void		 counters_status_format(char *, size_t, const uint64_t *,
		    const struct daemon_status *);
void		 counters_metrics_format(FILE *, const uint64_t *,
		    const struct daemon_status *);

/* metrics.c: -M's file, written by a child of the supervisor's. */
void		 metrics_file_start(const char *, const uint64_t *,
		    const struct daemon_status *);
void		 metrics_file_write(const uint64_t *,
		    const struct daemon_status *);
bool		 metrics_file_gone(pid_t, int);
int64_t		 metrics_file_due(void);
void		 metrics_file_end(const uint64_t *,
		    const struct daemon_status *);

/*
 * homes.c: what is known of each member's home when the group is read,
 * never waiting for a file system that does not answer.  A home is
 * opened only by a short-lived child, with a bounded wait for each
 * answer.
 */
enum home_reach {
	HOME_REACHED,		/* opened: served (the default) */
	HOME_MISSING,		/* could not be opened: not there */
	HOME_DENIED,		/* a directory on its path not searchable */
	HOME_FAILED,		/* opened, its fd not taken: no room for it */
	HOME_HUNG,		/* did not answer within HOME_ANSWER_NS */
	HOME_ROOT,		/* the root directory, however spelled */
	HOME_REFUSED		/* not an absolute path, or / as a string */
};

/*
 * How long a home may take to answer, its child sleeping, before it is
 * taken as hung (homes.c).
 */
#define HOME_ANSWER_NS		(NS_PER_SECOND / 2)

/*
 * A home opened (fd, O_PATH, the callee's) or not (fd -1), and what it
 * is (HOME_DIRECTORY, else a file; HOME_SEARCHABLE by this account).
 */
#define HOME_DIRECTORY		1u
#define HOME_SEARCHABLE		2u
#define HOME_HIDDEN		4u	/* it holds a .nofinger */
#define HOME_DENIED_LINK	8u	/* denied at a symbolic link */
/*
 * The directory a warning's command would open (the home not searchable,
 * or the one that denied it) is what its path leads to for good: no
 * symbolic link on the way, nothing a member may replace (homes.c).
 */
#define HOME_FIX_FIRM		16u
/*
 * Its .plan, as the survey finds it (homes_check): this account cannot
 * read it (HOME_PLAN_OTHERS_MAY: though its mode lets it), or it is a
 * symbolic link, or not a regular file (no worker reads one).
 */
#define HOME_PLAN_DENIED	32u
#define HOME_PLAN_LINK		64u
#define HOME_PLAN_NOT_FILE	128u
#define HOME_PLAN_OTHERS_MAY	256u
/*
 * HOME_DENIED's flags: how long the start of the home's path that cannot
 * be searched is (0: no directory's mode denies it).
 */
#define HOME_DENIED_FLAGS(at)	((unsigned)(at) << 16)
#define HOME_DENIED_AT(flags)	((flags) >> 16)
/* Or'd with a member's index a probe writes: its .nofinger came or went. */
#define HOME_PROBE_HIDDEN	0x80000000u

typedef void	 home_answer_fn(void *, size_t, enum home_reach, int,
		    unsigned);

void	 homes_open(const struct members *, bool *, bool, home_answer_fn *,
	    void *);
void	 homes_check(struct members *, const struct members *);
void	 home_unserved_warn(const struct member *, enum home_reach);
size_t	 homes_unreached(const struct members *);
void	 only_descriptor(int);
void	 child_tied(pid_t);
void	 child_alone(pid_t, int);
bool	 process_runnable(pid_t);

/* The supervisor's children that try the homes again (homes.c). */
#define PROBES_MAX		4
#define REMOTE_LOOKS_MAX	8
struct home_probes {
	int		 pipe[2];	/* probes write who answered */
	pid_t		 probes[PROBES_MAX];
	pid_t		 hung;		/* the one waiting for hung homes */
	pid_t		 hidden;	/* looking for .nofinger, local homes */
	pid_t		 held;		/* one that was, killed, held by a home */
	struct remote_look {		/* in homes on NFS or FUSE... */
		pid_t		 pid;
		unsigned	 mount;	/* member->mount, of table */
		unsigned	 table;
	}		 remote[REMOTE_LOOKS_MAX];	/* one a mount */
	unsigned	 tables;	/* the tables seen */
	unsigned	 held_table;	/* the one it was killed in */
	int64_t		 hidden_at;	/* the next look */
	int64_t		 hidden_started;
	int64_t		 probe_at;	/* the next probe; 0: none due */
};

void	 homes_probes_init(struct home_probes *, const struct members *);
void	 homes_probes_table(struct home_probes *, const struct members *);
bool	 homes_probes_due(struct home_probes *, const struct members *,
	    int64_t);
int64_t	 homes_probes_next(const struct home_probes *);
void	 homes_probes_read(struct home_probes *, const struct members *,
	    bool *, bool *);
bool	 homes_probes_gone(struct home_probes *, pid_t);
void	 homes_probes_stop(struct home_probes *);
void	 homes_probes_close(struct home_probes *);

/*
 * engine.c: the engines, io_uring where the kernel and the seccomp
 * profile allow it (engine.c probes), else epoll.  Every worker of a
 * daemon runs the one the supervisor chose.  engine.h is the seam they
 * serve the loop through.
 */
enum engine_kind {
	ENGINE_AUTO,
	ENGINE_URING,
	ENGINE_EPOLL
};

struct engine;

const char	*engine_name(enum engine_kind);
enum engine_kind engine_choose(enum engine_kind, char *, size_t);
struct engine	*engine_open(enum engine_kind, unsigned);
void		 engine_log(enum engine_kind, const char *);

/* landlock.c and seccomp.c: a worker's confinement. */
bool	 landlock_restrict(struct members *);
bool	 landlock_home_servable(const char *);
void	 seccomp_restrict(enum engine_kind);

/* client.c and fingerd.c share the loop's context. */
struct options {
	const char	*bind_address;	/* NULL: every address */
	unsigned	 port;
	const char	*group;
	const char	*user;
	unsigned	 timeout;	/* seconds */
	unsigned	 clients;
	unsigned	 per_address;
	uint64_t	 plan_max;
	unsigned	 workers;
	unsigned	 reread;	/* -R seconds; 0: on SIGHUP only */
	bool		 refuse_list;
	bool		 inetd;
	const char	*metrics;	/* -M: the file, or NULL */
	bool		 syslog;	/* -l */
	enum engine_kind engine;	/* chosen: never ENGINE_AUTO once serving */
	struct proxy_table proxies;	/* -p */
};

/*
 * turns.c: who may make the next request on a file system, and who is
 * evicted (pure; the time passed in, monotonic ns).  A client's entry is
 * embedded in its slot (client.c), set by it: deadline at the start,
 * home (its member's index) and mount (member->mount) before each wait.
 */
TAILQ_HEAD(turn_queue, turn_entry);

struct turn_entry {
	TAILQ_ENTRY(turn_entry)	 turn;		/* in its home's queue */
	TAILQ_ENTRY(turn_entry)	 evict;		/* in *queue */
	struct turn_queue	*queue;		/* silent or waiting, or NULL */
	int64_t			 queued;	/* since */
	int64_t			 deadline;
	unsigned		 home;
	unsigned		 mount;
	bool			 waiting;	/* in its home's queue */
};

struct home_turns;
struct mount_turns;

struct turns {
	struct home_turns	*homes;		/* a member each */
	struct mount_turns	*mounts;	/* by member->mount */
	unsigned		 home_max;	/* turns a home, at once */
	unsigned		 mount_max;	/* turns a mount */
	struct turn_queue	 silent;	/* no query line yet, and */
	struct turn_queue	 waiting;	/* for a turn: the evictable */
	int64_t			 evicted_at;	/* the last silent one's */
};

bool		 turns_init(struct turns *, unsigned, unsigned);
void		 turns_free(struct turns *);
void		 turns_silent(struct turns *, struct turn_entry *, int64_t);
void		 turns_spoken(struct turns *, struct turn_entry *);
void		 turns_unlist(struct turn_entry *);
bool		 turns_evictable(const struct turns *);
bool		 turns_wait(struct turns *, struct turn_entry *, bool, int64_t);
struct turn_entry *turns_give(struct turns *, unsigned, int64_t, bool *);
void		 turns_done(struct turns *, const struct turn_entry *, int64_t);
void		 turns_forgo(struct turns *, struct turn_entry *);
int64_t		 turns_stuck_at(const struct turns *,
		    const struct turn_entry *);
struct turn_entry *turns_evict(struct turns *, int64_t, int64_t *);

/*
 * client.c and worker.c: the loop's context.  Requests go to the engine
 * (engine.h), tagged with the client's slot and serial.
 */
struct engine;
struct completion;
struct client;
struct plan_buffer;

struct context {
	struct engine		*engine;
	const struct options	*options;
	struct members		*members;	/* the newest table */
	struct address_counts	*addresses;
	struct plan_cache	*cache;
	struct plan_watches	*watches;	/* NULL with -i */
	struct client		*clients;	/* options->clients slots */
	SLIST_HEAD(, client)	 free_clients;
	SLIST_HEAD(, plan_buffer) free_buffers;
	uint32_t		 serial;	/* the last client's */
	unsigned		 active;	/* clients in a slot */
	struct turns		 turns;		/* on files; the evictable */
};

/* fingerd.c */
#define WORKERS_MAX	64
#define NAME_MAX_LEN	256	/* -g, -u */

void	 signals_block(sigset_t *, bool);

/*
 * supervisor.c and worker.c: how a worker starts.  The supervisor execs
 * fingerd with WORKER_ENVIRONMENT set and these descriptors (0 and 1 are
 * /dev/null, 2 the log): its listening socket, its setup (a sealed memfd:
 * struct worker_setup, then members_pack()'s block), a pipe on which
 * it tells the supervisor what it must know (struct worker_news), and
 * the memfd it counts into (counters.c; /dev/null when there is none).
 */
#define WORKER_ENVIRONMENT	"FINGERD_WORKER"
#define WORKER_FD_LISTEN	3
#define WORKER_FD_SETUP		4
#define WORKER_FD_READY		5
#define WORKER_FD_COUNTERS	6	/* its page of counters.c */
#define WORKER_SETUP_MAGIC	"fingerdW"
struct worker_setup {
	char		 magic[8];
	pid_t		 supervisor;
	unsigned	 timeout;
	unsigned	 clients;
	unsigned	 per_address;
	unsigned	 workers;
	unsigned	 reread;	/* -R seconds; 0: on SIGHUP only */
	bool		 refuse_list;
	enum engine_kind engine;
	uint64_t	 plan_max;
	char		 group[NAME_MAX_LEN];
	struct proxy_table proxies;	/* -p */
};
void	 worker_setup_from(struct worker_setup *, const struct options *);
void	 worker_setup_to(struct options *, const struct worker_setup *);

/*
 * What a worker writes on the ready pipe, each in one write, far below
 * PIPE_BUF, so that those of several workers never mix.
 */
enum worker_event {
	WORKER_SERVES,		/* confined, taking clients; count 1: a
				   home the supervisor reached did not
				   answer it (homes.c) */
	WORKER_CLOSED,		/* its listener closed: takes no more */
	WORKER_LOST,		/* at its exit: log lines lost, not noted */
	WORKER_LOG_GONE		/* syslog's socket refused a line */
};

struct worker_news {
	pid_t			 pid;
	enum worker_event	 event;
	uint64_t		 count;		/* WORKER_LOST: the lines */
};

int	 supervise(const struct options *, struct members *, const int *);
int	 worker_main(void);
int	 serve(const struct options *, struct members *, int, int);

/* client.c */
bool	 clients_init(struct context *);
void	 clients_free(struct context *);
bool	 client_slot_free(const struct context *);
bool	 client_evictable(const struct context *);
bool	 client_evict_oldest(struct context *, int64_t *);
void	 client_start(struct context *, int, const struct sockaddr_storage *);
void	 client_complete(struct context *, uint64_t, int);
void	 client_send_buffer(int);
/* worker.c, told by client.c */
void	 worker_descriptors_freed(struct context *);

#endif /* FINGERD_H */
