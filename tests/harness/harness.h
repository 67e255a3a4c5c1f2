/*
 * The system tests' harness: a fixture directory holding a user database
 * for nss_wrapper and the accounts' homes, the real daemon started on it,
 * and a finger client.  Every wait is bounded, so that a daemon that
 * misbehaves fails a test instead of hanging the suite.
 *
 * The fixture's accounts (the exchange suite documents them for servers
 * it did not start):
 *
 *	alice	listed in finger	plan with bare LFs
 *	bob	primary group finger	plan with CRLFs
 *	carol	listed in finger	no .plan
 *	dan	listed in finger	plan without a final newline
 *	erin	listed in finger	plan with terminal-unsafe bytes
 *	mallory	not a member		a plan nobody may see
 *	zoe	not a member		a plan, her home in another directory
 *	rooted	not a member		home /
 *	root, nobody (65534)		system accounts, not members
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <sys/resource.h>
#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

/*
 * Bounds of the waits, in milliseconds, and of the latencies the tests
 * assert, in seconds: times FINGERD_WAIT_SCALE, which make check-valgrind
 * sets, as memcheck runs the daemon tens of times slower.
 */
#define WAIT_START_MS	(10000 * wait_scale())	/* "serving group" */
#define WAIT_EXIT_MS	(10000 * wait_scale())	/* exit after a signal */
#define WAIT_REPLY_MS	(10000 * wait_scale())	/* a whole reply */
#define WAIT_CONNECT_MS	(3000 * wait_scale())
#define WAIT_LOG_MS	(5000 * wait_scale())	/* a line after a close */
#define LATENCY(s)	((s) * wait_scale())

/*
 * The most one query that nothing holds may take, end to end, on a
 * loaded machine: a quarter of the least any hold these tests guard
 * against would cost it (a turn taken as stuck after TURN_STUCK_NS, a
 * second; -t or the whole listen queue, more).  Their aim, 100 ms, is
 * reported by figure(); at a load of 7 on two cores one query in a few
 * hundred took 0.13 to 0.15 s.  (Scaled under valgrind, 1.25 s: there
 * only the longer holds show.)
 */
#define UNHELD_S	0.25

int	 wait_scale(void);
const char *seconds_scaled(unsigned);
bool	 under_valgrind(void);
bool	 engine_epoll(void);

/* The fixture's group: named in its list, and bob by his primary gid. */
#define FIXTURE_GID	79
#define FIXTURE_MEMBERS	"erin,carol,alice,dan"

/* The fixture's plans, as files and as the daemon must send them. */
#define PLAN_ALICE	"Down the rabbit hole.\nCuriouser and curiouser!\n"
#define REPLY_ALICE	"Login: alice\tName: Alice Liddell\r\nPlan:\r\n" \
			"Down the rabbit hole.\r\nCuriouser and curiouser!\r\n"
#define PLAN_BOB	"Can we fix it?\r\nYes we can!\r\n"
#define REPLY_BOB	"Login: bob\tName: Bob Builder\r\nPlan:\r\n" \
			"Can we fix it?\r\nYes we can!\r\n"
#define REPLY_CAROL	"Login: carol\tName: Carol Noplan\r\nNo Plan.\r\n"
#define PLAN_DAN	"Ends with LF\nmixed\r\nno newline at the end"
#define REPLY_DAN	"Login: dan\tName: Dan Noeol\r\nPlan:\r\n" \
			"Ends with LF\r\nmixed\r\nno newline at the end\r\n"
#define PLAN_ERIN	"ESC:\x1b[31mred\x1b[0m|\n" \
			"DEL:\x7f|\n" \
			"C1 raw:\x9b|\x85|\n" \
			"C1 UTF-8:\xc2\x9b|\xc2\x85|\n" \
			"C0:\x07\x08\x0c\x00|\n" \
			"bad UTF-8:\xff\xc3(\xed\xa0\x80|\n" \
			"TAB:\t|\n" \
			"kept: caf\xc3\xa9 \xc2\xa0 \xe2\x9c\x93 \xf0\x9f\x98\x80\n"
#define REPLY_ERIN	"Login: erin\tName: Erin Unsafe\r\nPlan:\r\n" \
			"ESC:[31mred[0m|\r\n" \
			"DEL:|\r\n" \
			"C1 raw:||\r\n" \
			"C1 UTF-8:||\r\n" \
			"C0:|\r\n" \
			"bad UTF-8:(|\r\n" \
			"TAB:\t|\r\n" \
			"kept: caf\xc3\xa9 \xc2\xa0 \xe2\x9c\x93 \xf0\x9f\x98\x80\r\n"
#define PLAN_MALLORY	"I am not a member.\n"
#define REPLY_MALLORY	"Login: mallory\tName: Mallory Outsider\r\nPlan:\r\n" \
			"I am not a member.\r\n"
#define PLAN_ZOE	"Far from the others.\n"
#define REPLY_ZOE	"Login: zoe\tName: Zoe Elsewhere\r\nPlan:\r\n" \
			"Far from the others.\r\n"

/*
 * /W: a .project's first line and a .pgpkey, filtered as plans are,
 * before the plan.  bob has both, dan a project (with controls and bad
 * UTF-8, and a second line), carol a key and no plan; alice neither.
 */
#define PROJECT_BOB	"Building things\nsecond line\n"
#define PGPKEY_BOB	"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" \
			"mQENBFakeKeyForTests\n" \
			"-----END PGP PUBLIC KEY BLOCK-----\n"
#define REPLY_W_BOB	"Login: bob\tName: Bob Builder\r\n" \
			"Project: Building things\r\n" \
			"PGP key:\r\n" \
			"-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n\r\n" \
			"mQENBFakeKeyForTests\r\n" \
			"-----END PGP PUBLIC KEY BLOCK-----\r\n" \
			"Plan:\r\nCan we fix it?\r\nYes we can!\r\n"
#define PROJECT_DAN	"Dan\x1b[2J's \x07project \xff\xc3(caf\xc3\xa9\r\n" \
			"line two\n"
#define REPLY_W_DAN	"Login: dan\tName: Dan Noeol\r\n" \
			"Project: Dan[2J's project (caf\xc3\xa9\r\n" \
			"Plan:\r\nEnds with LF\r\nmixed\r\n" \
			"no newline at the end\r\n"
#define PGPKEY_CAROL	"KEYONLY"
#define REPLY_W_CAROL	"Login: carol\tName: Carol Noplan\r\n" \
			"PGP key:\r\nKEYONLY\r\nNo Plan.\r\n"

/*
 * The member list: a header, then the logins padded to 10 columns (the
 * longest, at least 8, plus 2), the names after.
 */
#define LIST_HEADER	"Login     Name\r\n"
#define LIST_MEMBERS	"alice     Alice Liddell\r\n" \
			"bob       Bob Builder\r\n" \
			"carol     Carol Noplan\r\n" \
			"dan       Dan Noeol\r\n" \
			"erin      Erin Unsafe\r\n"
#define REPLY_LIST	LIST_HEADER LIST_MEMBERS
#define LIST_MALLORY	"mallory   Mallory Outsider\r\n"
#define LIST_ZOE	"zoe       Zoe Elsewhere\r\n"

#define LOGIN_ALICE	"Login: alice\tName: Alice Liddell\r\n"
#define NO_PLAN		"No Plan.\r\n"

/* The error lines. */
#define REPLY_TOO_LONG		"Query too long\r\n"
#define REPLY_INVALID		"Invalid query\r\n"
#define REPLY_FORWARDING	"Finger forwarding service denied\r\n"
#define REPLY_LIST_DENIED	"Finger online user list denied\r\n"
#define REPLY_NO_SUCH_USER	"No such user\r\n"
#define REPLY_TOO_MANY		"Too many connections from your address\r\n"

/* Bytes received, or a file read; always NUL terminated past len. */
struct buffer {
	char	*data;
	size_t	 len;
	size_t	 size;
};

/*
 * One fixture and at most one daemon on it.  child_setup, when set, runs
 * in the daemon's process just before the exec; asan_options, when set,
 * is the daemon's ASAN_OPTIONS=... instead of ours; stdio, when set,
 * gives its standard descriptors instead of /dev/null, out and log (-1:
 * left closed); preload, when set, is a library the daemon preloads
 * after nss_wrapper.
 */
struct fixture {
	char	 dir[64];
	char	 passwd[128];
	char	 group[128];
	char	 log[128];		/* the daemon's stderr */
	char	 out[128];		/* the daemon's stdout */
	pid_t	 pid;			/* 0: no daemon */
	int	 pidfd;
	int	 port;			/* from the "listening on" line */
	int	 status;		/* wait status, once it exited */
	void	(*child_setup)(void);
	const int *stdio;		/* when set: the daemon's fds 0, 1, 2 */
	bool	 inetd_hold;		/* -i: keep a copy of the connection */
	int	 inetd_held;		/* that copy, or -1 */
	char	*asan_options;
	const char *preload;
	pid_t	 watchdog;		/* see watchdog_start() */
	int	 watchdog_fd;
	bool	 own_network;		/* in a network namespace of its own */
};

/* The fixture directory. */
void	 fixture_create(struct fixture *);
void	 fixture_destroy(struct fixture *);
void	 fixture_group_rewrite(struct fixture *, const char *);
void	 fixture_group_drop(struct fixture *);
void	 passwd_append(struct fixture *, const char *, unsigned,
	    const char *);
void	 plan_write(struct fixture *, const char *, const void *, size_t);
void	 plan_remove(struct fixture *, const char *);
void	 plan_symlink(struct fixture *, const char *, const char *);
void	 plan_fifo(struct fixture *, const char *);
void	 plan_directory(struct fixture *, const char *);
void	 plan_path(const struct fixture *, const char *, char *, size_t);
void	 home_file_path(const struct fixture *, const char *, const char *,
	    char *, size_t);
void	 home_file_write(struct fixture *, const char *, const char *,
	    const void *, size_t);
void	 home_file_remove(struct fixture *, const char *, const char *);
void	 home_file_symlink(struct fixture *, const char *, const char *,
	    const char *);
void	 home_file_fifo(struct fixture *, const char *, const char *);
void	 read_file(const char *, struct buffer *);
char	*huge_text(size_t);
char	*crlf_convert(const char *, size_t, size_t *);
char	*plan_reply(const char *, size_t, size_t *);

/* The daemon.  The flags are a NULL-terminated list. */
void	 daemon_start(struct fixture *, ...) __attribute__((sentinel));
void	 daemon_launch(struct fixture *, ...) __attribute__((sentinel));
void	 daemon_started(struct fixture *);
int	 daemon_run(struct fixture *, ...) __attribute__((sentinel));
int	 inetd_finger(struct fixture *, const char *, struct buffer *,
	    double *, ...) __attribute__((sentinel));
int	 inetd_start(struct fixture *, const char *, ...)
	    __attribute__((sentinel));
void	 inetd_release(struct fixture *);
int	 daemon_stop(struct fixture *, int);
int	 daemon_wait(struct fixture *, int);
bool	 daemon_alive(struct fixture *);
size_t	 daemon_workers(const struct fixture *, pid_t *, size_t);
pid_t	 daemon_worker(const struct fixture *);
pid_t	 daemon_worker_waiting(const struct fixture *);
double	 cpu_seconds(pid_t);
void	 daemon_workers_wait(const struct fixture *, pid_t *, size_t);
void	 status_field(pid_t, const char *, char *, size_t);
long	 status_number(pid_t, const char *);
bool	 process_exiting(pid_t);
void	 daemon_signal(struct fixture *, int);
void	 child_block_io_uring(void);
void	 child_block_io_uring_enosys(void);
void	 child_block_openat2(void);
void	 child_block_execveat(void);
void	 child_block_io_uring_and_openat2(void);
void	 child_block_inotify(void);
void	 child_block_iowq_max_workers(void);
void	 child_block_landlock(void);
void	 child_block_landlock_add_rule(void);
void	 child_add_privileges(void);
void	 child_unprivileged_no_capset(void);

/*
 * Its log; the patterns are POSIX extended regular expressions, matched
 * against each line without the time a line in a file begins with.
 */
#define LOG_TIME_RE	"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:" \
			"[0-9]{2}\\.[0-9]{3}Z"
#define LOG_TIME_LEN	24
#define SYSLOG_HEAD_RE	"<(2[4-9]|3[01])>[A-Z][a-z]{2} [ 1-3][0-9] " \
			"[0-9]{2}:[0-9]{2}:[0-9]{2} "
const char *log_untimed(const char *);
void	 log_read(const struct fixture *, struct buffer *);
void	 out_read(const struct fixture *, struct buffer *);
size_t	 log_lines(const struct fixture *);
size_t	 log_count(const struct fixture *, const char *);
size_t	 log_count_in(const struct buffer *, const char *);
size_t	 log_warnings_each_reading(const struct fixture *, const char *,
	    size_t, const char *);
unsigned long log_lost_count(const struct buffer *, bool *);
int	 syslog_bind(const struct fixture *);
size_t	 syslog_read(int, struct buffer *);
bool	 syslog_wait(int, struct buffer *, const char *, size_t, int);
bool	 log_find(const struct fixture *, const char *, struct buffer *);
bool	 log_wait(struct fixture *, const char *, size_t, int);
size_t	 log_in_order(const struct fixture *, const char *const *);
int	 log_port(const struct fixture *);

/* The client.  Sockets are non-blocking; every call is bounded. */
int	 client_connect(const char *, int);
int	 client_connect_small(const char *, int, int);
int	 client_connect_from(const char *, const char *, int);
void	 daemon_stopped_cleanly(struct fixture *);
char	*daemon_describe(const struct fixture *);
void	 client_send(int, const void *, size_t);
int	 client_read(int, struct buffer *, size_t, int);
int	 client_read_all(int, struct buffer *, int);
void	 client_half_close(int);
void	 client_reset(int);
bool	 client_quiet(int);
unsigned backlog_of(int);
bool	 listener_held(pid_t, int);
int	 finger(const char *, int, const void *, size_t, struct buffer *);
void	 buffer_append(struct buffer *, const void *, size_t);
void	 buffer_free(struct buffer *);

/* Assertions that show the bytes when they differ. */
void	 assert_bytes(const struct buffer *, const void *, size_t,
	    const char *);
#define assert_reply(b, s, what)	assert_bytes(b, s, sizeof(s) - 1, what)

void	 nofinger_under_load(struct fixture *, const char *, const char *,
	    const char *, const char *, const char *, const char *,
	    const char *);

double	 now_seconds(void);
void	 figure(const char *, double, const char *, const char *);

/*
 * A file system that hangs (fuse.c): tests/tools/slowfs.c (SLOWFS)
 * mounted over zoe's home directory, fx.dir/srv, in a mount namespace of
 * the test's own; control names its control file ("hang", "eio", a
 * delay in ms, "" to answer again).  For the pressure suite.
 */
extern char control[256];
void	 write_text(const char *, const char *);
void	 slowfs_mount(void);
void	 slowfs_end(void);
unsigned slowfs_held(bool);
pid_t	 slowfs_held_worker(void);
void	 slowfs_count(unsigned *, unsigned *);
bool	 slowfs_holds(unsigned);
void	 mounts_of_its_own(void);
char	*slowfs_describe(void);

/* Between the harness's own files (harness.c's), not for the tests. */
struct FTW;
struct stat;
int	 ms_left(double);
void	 write_file(const char *, const void *, size_t, mode_t);
int	 remove_entry(const char *, const struct stat *, int, struct FTW *);

/*
 * What the suites share (suite.c).  fx is the fixture of the test that
 * runs: a suite's .init = fixture_setup, .fini = fixture_teardown.
 * EXPECT: fx's daemon at LOCAL replies exactly want to query (literals);
 * EXPECT_LOG: its log has a line matching pattern within WAIT_LOG_MS.
 */
#define LOCAL		"127.0.0.1"
extern struct fixture fx;
void	 fixture_setup(void);
void	 fixture_teardown(void);
rlim_t	 files_limit_raise(void);
void	 expect_reply_at(const char *, const void *, size_t, const void *,
	    size_t);
void	 expect_at(const char *, const char *, const void *, size_t);
#define EXPECT(query, want)	expect_at(LOCAL, query, want, sizeof(want) - 1)
#define EXPECT_LOG(pattern) \
	cr_assert(log_wait(&fx, pattern, 1, WAIT_LOG_MS), \
	    "no log line matches %s\n%s", pattern, daemon_describe(&fx))
double	 served_at(const char *, const char *, double, int);
void	 stopped_cleanly(void);
void	 skip_under_valgrind(const char *);
void	 one_line_checked(const char *);
int	 client_connect_blocking(const char *, int, int);
int	 free_port(void);
bool	 accepting(int);

#endif /* HARNESS_H */
