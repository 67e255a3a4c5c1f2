/*
 * The soak's verdict (see soak.c): each address's log lines, each
 * exchange its client recorded against them, each address's count; the
 * supervisor's and the workers' memory and descriptors from the samples;
 * the summary in Markdown (stdout and SOAK_RESULTS); the assertions.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "soak.h"

static const char *const outcome_names[OUTCOMES] = {
	"exact", "cut", "reset", "wrong", "stalled", "unconnected"
};
/*
 * The verdict.  First each address's log lines, then each exchange
 * against them, then each address's count.
 */

static void __attribute__((format(printf, 2, 3)))
fail(struct verdict *v, const char *fmt, ...)
{
	va_list ap;

	v->failures++;
	if (v->nshown >= sizeof(v->shown) / sizeof(v->shown[0]))
		return;
	va_start(ap, fmt);
	vsnprintf(v->shown[v->nshown++], sizeof(v->shown[0]), fmt, ap);
	va_end(ap);
}

static unsigned
end_bit(const char *word)
{
	if (strcmp(word, "ok") == 0)
		return END_OK;
	if (strcmp(word, "timeout") == 0)
		return END_TIMEOUT;
	if (strcmp(word, "client-gone") == 0)
		return END_GONE;
	if (strcmp(word, "evicted") == 0)
		return END_EVICTED;
	return END_OTHER;
}

/* What the line of an exchange of kind k must say. */
static bool
line_fits(enum kind k, const char *query, const char *reply,
    unsigned end, unsigned long long sent)
{
	size_t i;

	switch (k) {
	case NORMAL:
		for (i = 0; i < NORMALS; i++)
			if (strcmp(query, normals[i].query) == 0)
				return strcmp(reply, normals[i].word) == 0 &&
				    end == END_OK &&
				    sent == strlen(normals[i].reply);
		return false;
	case SILENT:
		return query[0] == '\0' && strcmp(reply, "none") == 0 &&
		    (end == END_TIMEOUT || end == END_EVICTED) && sent == 0;
	case RESETTING:
		return strcmp(query, "zoe") == 0 &&
		    strcmp(reply, "plan") == 0 && end == END_GONE &&
		    sent < soak.big_len;
	default:
		return strcmp(reply, kinds[k].word) == 0 && end == END_OK &&
		    sent == strlen(kinds[k].reply);
	}
}

/*
 * An exchange's line: "fingerd[PID]: client=A query="Q"[...] reply=W
 * [why=W] end=W sent=N ms=T".  False for another line.
 */
static bool
exchange_line(struct verdict *v, char *line)
{
	char *client = strstr(line, ": client="), *query, *quote, *rest;
	char reply[32], end[32];
	unsigned long long sent;
	struct in_addr a;
	uint32_t index;
	enum kind k;

	if (client == NULL)
		return false;
	client += strlen(": client=");
	if ((query = strstr(client, " query=\"")) == NULL ||
	    (quote = strchr(query + 8, '"')) == NULL ||
	    (rest = strstr(quote, " reply=")) == NULL ||
	    sscanf(rest, " reply=%31s", reply) != 1 ||
	    (rest = strstr(rest, " end=")) == NULL ||
	    sscanf(rest, " end=%31s sent=%llu", end, &sent) != 2) {
		fail(v, "log: not an exchange's line: %.120s", line);
		return true;
	}
	*query = '\0';
	*quote = '\0';
	if (inet_pton(AF_INET, client, &a) != 1 ||
	    !address_kind(a.s_addr, &k, &index) || index >= soak.used[k]) {
		fail(v, "log: a line for no client of ours: %.120s", line);
		return true;
	}
	v->lines[k]++;
	soak.addresses[k][index].logged++;
	soak.addresses[k][index].ends |= (uint8_t)end_bit(end);
	if (!line_fits(k, query + 8, reply, end_bit(end), sent)) {
		v->bad++;
		fail(v, "log: a %s client's line says query=\"%.40s\" "
		    "reply=%s end=%s sent=%llu", kinds[k].name, query + 8,
		    reply, end, sent);
	}
	return true;
}

/* The daemon's own lines: those a soak expects, or a failure. */
static void
other_line(struct verdict *v, const char *line)
{
	static const char *const expected[] = {
		"event=listen ", "event=start group=finger members=6 ",
		"event=stop signal=SIGTERM", ": event=engine engine=io_uring",
		": event=engine engine=epoll why=\"-E epoll\"",
	};
	const char *p;
	unsigned long n;
	size_t i;

	if ((p = strstr(line, ": ")) != NULL && strstr(p, " lost") != NULL &&
	    sscanf(p, ": %lu log line", &n) == 1) {
		v->lost += n;
		fail(v, "log: %.200s", line);
		return;
	}
	if (strstr(line, "event=reload group=finger members=6 ") != NULL) {
		v->announced++;
		return;
	}
	if (strstr(line, "event=worker-exit pid=") != NULL &&
	    strstr(line, " signal=SIGKILL ") != NULL) {
		v->killed_lines++;
		return;
	}
	if ((p = strstr(line, ": status exchanges=")) != NULL &&
	    sscanf(p, ": status exchanges=%llu", &v->status) == 1) {
		v->status_lines++;
		return;
	}
	for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		if (strstr(line, expected[i]) != NULL)
			return;
	fail(v, "log: unexpected line: %.200s", line);
}

/* Whether a log line's time stamp (2026-12-07T18:44:38.265Z) is at p. */
static bool
time_stamp_at(const char *p)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ ";
	size_t i;

	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? p[i] < '0' || p[i] > '9' :
		    p[i] != shape[i])
			return false;
	return true;
}

/*
 * A line that holds the beginning of another after its own: the first
 * was cut short, a killed worker's last write (a fatal signal ends a
 * write to a file between two of its pages).  At most one a kill; the
 * rest of the line is a line of its own.
 */
static char *
line_cut_by_a_kill(struct verdict *v, char *line)
{
	size_t i, len = strlen(line);

	for (i = 1; i + 25 <= len; i++)
		if (time_stamp_at(line + i)) {
			if (++v->cut_lines > soak.nkills)
				fail(v, "log: a line cut short, no kill to "
				    "cut it: %.120s", line);
			return line + i;
		}
	return line;
}

static void
log_check(struct verdict *v)
{
	struct buffer b;
	char *line, *next;
	size_t k;

	for (k = 0; k < KINDS; k++) {
		soak.used[k] = soak.seq[k] < KIND_SPACE ? soak.seq[k] :
		    KIND_SPACE;
		soak.addresses[k] = calloc(soak.used[k] + 1,
		    sizeof(*soak.addresses[k]));
		cr_assert_not_null(soak.addresses[k], "out of memory");
	}
	log_read(&fx, &b);
	for (line = b.data; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next == '\n')
			*next++ = '\0';
		line = line_cut_by_a_kill(v, line);
		if (!exchange_line(v, line))
			other_line(v, line);
	}
	buffer_free(&b);
}

/* How long after a kill t is; -1 when it is outside every kill's window. */
static double
after_kill(double t)
{
	size_t i;

	for (i = 0; i < soak.nkills; i++)
		if (t >= soak.kills[i] - LOST_BEFORE &&
		    t <= soak.kills[i] + CUT_AFTER)
			return t > soak.kills[i] ? t - soak.kills[i] : 0;
	return -1;
}

/* The address of an exchange, dotted. */
static void
address_text(enum kind k, uint32_t index, char *buf, size_t size)
{
	struct in_addr a = { .s_addr = address_of(k, index) };

	inet_ntop(AF_INET, &a, buf, (socklen_t)size);
}

/*
 * One exchange: its outcome, excused or not, and whether its line must
 * be in the log (sure) or may have gone with a killed worker (maybe).
 * A client that could not connect has no line; one that stalled is a
 * failure already, line or not.
 */
static void
record_check(struct verdict *v, const struct record *r)
{
	struct address *a = &soak.addresses[r->kind][r->seq % KIND_SPACE];
	double since = after_kill(r->end);
	char from[INET_ADDRSTRLEN];

	v->outcomes[r->kind][r->outcome]++;
	if (r->end - r->start > v->longest[r->kind])
		v->longest[r->kind] = r->end - r->start;
	if (since >= 0 || r->outcome == STALLED)
		a->maybe++;
	else if (r->outcome != UNCONNECTED)
		a->sure++;
	if (r->kind == SILENT && r->outcome == EXACT &&
	    r->end - r->start - DEADLINE > v->latest_close)
		v->latest_close = r->end - r->start - DEADLINE;
	if (r->outcome == EXACT)
		return;
	if ((r->outcome == CUT || r->outcome == RESET) && since >= 0) {
		v->excused[r->kind]++;
		v->latest_cut = since > v->latest_cut ? since : v->latest_cut;
		return;
	}
	if ((r->outcome == CUT || r->outcome == RESET) &&
	    (a->ends & END_EVICTED)) {
		v->evicted[r->kind]++;
		return;
	}
	v->failed[r->kind]++;
	address_text(r->kind, r->seq, from, sizeof(from));
	if (r->outcome == UNCONNECTED)
		fail(v, "a %s client from %s could not connect: %s",
		    kinds[r->kind].name, from, strerror(r->error));
	else
		fail(v, "a %s exchange from %s was %s, at %.3f s, %.3f s "
		    "long, no kill near", kinds[r->kind].name, from,
		    outcome_names[r->outcome], r->start - soak.t0,
		    r->end - r->start);
}

/*
 * An address's lines: at least its sure exchanges', at most all of
 * them; the difference is lines a kill took, excused.
 */
static void
address_check(struct verdict *v, enum kind k, uint32_t i)
{
	const struct address *a = &soak.addresses[k][i];
	char from[INET_ADDRSTRLEN];

	v->sure += a->sure;
	v->maybe += a->maybe;
	v->logged += a->logged;
	if (a->logged >= a->sure && a->logged <= a->sure + a->maybe) {
		v->unlogged += a->sure + a->maybe - a->logged;
		return;
	}
	address_text(k, i, from, sizeof(from));
	if (a->logged < a->sure) {
		v->missing += a->sure - a->logged;
		fail(v, "log: %u line%s for the %u exchange%s of the %s "
		    "client %s, none near a kill", a->logged,
		    a->logged == 1 ? "" : "s", a->sure,
		    a->sure == 1 ? "" : "s", kinds[k].name, from);
	} else {
		v->extra += a->logged - a->sure - a->maybe;
		fail(v, "log: %u lines for the %u exchange%s of the %s "
		    "client %s", a->logged, a->sure + a->maybe,
		    a->sure + a->maybe == 1 ? "" : "s", kinds[k].name, from);
	}
}

void
verdict_make(struct verdict *v)
{
	const struct client *c;
	size_t i, j;
	uint32_t a;
	int k;

	memset(v, 0, sizeof(*v));
	log_check(v);
	for (i = 0; i < CLIENTS; i++)
		for (c = &soak.clients[i], j = 0; j < c->n; j++)
			record_check(v, &c->records[j]);
	for (k = 0; k < KINDS; k++)
		for (a = 0; a < soak.used[k]; a++)
			address_check(v, (enum kind)k, a);
}
static int
compare_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

static unsigned long
median(unsigned long *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), compare_ulong);
	return v[n / 2];
}

void
supervisor_memory(struct memory *m)
{
	const struct sample *s;
	size_t i;
	bool first = true;

	for (i = 0; i < soak.nsamples; i++) {
		if ((s = &soak.samples[i])->generation != 0)
			continue;
		if (first) {
			m->sup_rss_min = m->sup_rss_max = m->sup_rss_first =
			    s->rss;
			m->sup_fds_min = m->sup_fds_max = m->sup_fds_first =
			    s->fds;
			first = false;
		}
		m->sup_rss_min = s->rss < m->sup_rss_min ? s->rss :
		    m->sup_rss_min;
		m->sup_rss_max = s->rss > m->sup_rss_max ? s->rss :
		    m->sup_rss_max;
		m->sup_fds_min = s->fds < m->sup_fds_min ? s->fds :
		    m->sup_fds_min;
		m->sup_fds_max = s->fds > m->sup_fds_max ? s->fds :
		    m->sup_fds_max;
		m->sup_rss_last = s->rss;
		m->sup_fds_last = s->fds;
	}
}

/* One worker's growth once warm: its samples are in time order. */
static unsigned long
worker_growth(pid_t pid)
{
	const struct sample *s;
	double seen = -1;
	unsigned long warm = 0, top = 0;
	size_t i;

	for (i = 0; i < soak.nsamples; i++) {
		if ((s = &soak.samples[i])->pid != pid ||
		    s->generation == 0)
			continue;
		if (seen < 0)
			seen = s->t;
		if (s->t - seen < WARM)
			continue;
		if (warm == 0)
			warm = s->rss;
		top = s->rss > top ? s->rss : top;
	}
	return top > warm ? top - warm : 0;
}

void
worker_memory(struct memory *m)
{
	unsigned long *peaks = calloc(soak.hups + 2, sizeof(*peaks)), g;
	const struct sample *s;
	size_t i, third;

	cr_assert_not_null(peaks, "out of memory");
	m->rss_min = (unsigned long)-1;
	for (i = 0; i < soak.nsamples; i++) {
		if ((s = &soak.samples[i])->generation == 0 ||
		    s->generation > soak.hups + 1)
			continue;
		m->rss_min = s->rss < m->rss_min ? s->rss : m->rss_min;
		m->rss_max = s->rss > m->rss_max ? s->rss : m->rss_max;
		m->fds_max = s->fds > m->fds_max ? s->fds : m->fds_max;
		if (s->rss > peaks[s->generation])
			peaks[s->generation] = s->rss;
		if ((g = worker_growth(s->pid)) > m->growth) {
			m->growth = g;
			m->growth_pid = s->pid;
		}
	}
	for (i = 1, m->generations = 0; i <= soak.hups + 1; i++)
		if (peaks[i] > 0)
			peaks[m->generations++] = peaks[i];
	third = m->generations / 3;
	m->early = median(peaks, third);
	m->late = median(peaks + m->generations - third, third);
	free(peaks);
}

/* The summary, in Markdown: on stdout, and in SOAK_RESULTS if set. */
static void
summary_write(FILE *f, const struct verdict *v, const struct memory *m)
{
	size_t k, total = 0;

	fprintf(f, "# fingerd soak: %.0f s, seed %llu\n\n", soak.seconds,
	    (unsigned long long)soak.seed);
	fprintf(f, "`fingerd %s`, %d clients at once; %u reloads, %zu "
	    "kills.\n\n", FLAGS_TEXT, CLIENTS, soak.hups, soak.nkills);
	fprintf(f, "| kind | exchanges | exact | cut | reset | cut by a "
	    "kill | evicted | failed | log lines | longest ms |\n");
	fprintf(f, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
	for (k = 0; k < KINDS; k++) {
		fprintf(f, "| %s | %u | %zu | %zu | %zu | %zu | %zu | %zu | "
		    "%zu | %.0f |\n", kinds[k].name, soak.seq[k],
		    v->outcomes[k][EXACT], v->outcomes[k][CUT],
		    v->outcomes[k][RESET], v->excused[k], v->evicted[k],
		    v->failed[k], v->lines[k], v->longest[k] * 1000);
		total += soak.seq[k];
	}
	fprintf(f, "\n- exchanges: %zu (%.0f/s), %zu of them certain to be "
	    "logged, %zu near a kill; log lines: %zu, of which %zu not as "
	    "their kind expects; not logged: %zu near a kill (excused), %zu "
	    "others; logged too often: %zu; lost by the daemon's own "
	    "count: %lu\n", total, (double)total / soak.seconds, v->sure,
	    v->maybe, v->logged, v->bad, v->unlogged, v->missing, v->extra,
	    v->lost);
	fprintf(f, "- reloads: %u sent, %zu announced, last generation %u; "
	    "kills: %zu, %zu logged, %zu lines cut short by one; latest cut "
	    "%.0f ms after its kill\n",
	    soak.hups, v->announced, soak.generation, soak.nkills,
	    v->killed_lines, v->cut_lines, v->latest_cut * 1000);
	fprintf(f, "- supervisor: fds %u..%u (start %u, end %u); RSS "
	    "%lu..%lu KiB (start %lu, end %lu)\n", m->sup_fds_min,
	    m->sup_fds_max, m->sup_fds_first, m->sup_fds_last,
	    m->sup_rss_min, m->sup_rss_max, m->sup_rss_first, m->sup_rss_last);
	fprintf(f, "- workers: fds idle %u, at most %u, at the end %u and %u "
	    "(%zu workers); RSS %lu..%lu KiB; %zu generations, median peak "
	    "%lu KiB in the first third, %lu in the last; largest growth "
	    "once warm %lu KiB\n", soak.idle_fds, m->fds_max, soak.end_fds[0],
	    soak.end_fds[1], soak.end_workers, m->rss_min, m->rss_max,
	    m->generations, m->early, m->late, m->growth);
	fprintf(f, "- silent clients closed at most %.0f ms after -t\n",
	    v->latest_close * 1000);
	fprintf(f, "- the status line (SIGUSR1): exchanges=%llu\n",
	    v->status);
	fprintf(f, "- failures: %zu\n", v->failures);
	for (k = 0; k < v->nshown; k++)
		fprintf(f, "  - %s\n", v->shown[k]);
	if (v->failures > v->nshown)
		fprintf(f, "  - and %zu more\n", v->failures - v->nshown);
	for (k = 0; k < soak.nwrong; k++)
		fprintf(f, "  - wrong reply: %s\n", soak.wrong[k]);
}

void
summary(const struct verdict *v, const struct memory *m)
{
	const char *path = getenv("SOAK_RESULTS");
	FILE *f;

	summary_write(stdout, v, m);
	fflush(stdout);
	if (path == NULL || path[0] == '\0')
		return;
	cr_assert_not_null(f = fopen(path, "w"), "%s: %s", path,
	    strerror(errno));
	summary_write(f, v, m);
	cr_assert_eq(fclose(f), 0, "%s: %s", path, strerror(errno));
}

/*
 * What /proc shows is valgrind's under memcheck (see under_valgrind()):
 * the descriptors and the memory are then only reported.
 */
void
verdict_assert(const struct verdict *v, const struct memory *m, int status)
{
	size_t i;

	cr_expect_eq(status, 0, "exit status %d after SIGTERM", status);
	cr_expect_eq(v->failures, 0, "%zu failures (listed above)",
	    v->failures);
	cr_expect(soak.settled, "not %d workers of generation %u (%zu "
	    "workers) %.0f s after the clients", WORKERS, soak.generation,
	    soak.end_workers, SETTLE_BOUND);
	cr_expect_leq(v->killed_lines, soak.nkills, "%zu kills logged, %zu "
	    "made", v->killed_lines, soak.nkills);
	/* Counted as its line is made: a kill may take it unwritten. */
	cr_expect_eq(v->status_lines, 1, "%zu status lines", v->status_lines);
	cr_expect(v->status >= v->logged &&
	    v->status <= v->logged + v->unlogged + v->lost, "exchanges=%llu "
	    "in the status line, for %zu exchange lines, %zu not logged near "
	    "a kill and %lu lost", v->status, v->logged, v->unlogged, v->lost);
	if (under_valgrind())
		return;
	for (i = 0; i < soak.end_workers && i < WORKERS; i++)
		cr_expect_eq(soak.end_fds[i], soak.idle_fds, "a worker holds "
		    "%u descriptors at the end, %u idle", soak.end_fds[i],
		    soak.idle_fds);
	cr_expect_eq(m->sup_fds_last, m->sup_fds_first, "the supervisor's "
	    "descriptors went from %u to %u", m->sup_fds_first,
	    m->sup_fds_last);
	/* A reload opens the new table before it closes the old one. */
	cr_expect_leq(m->sup_fds_max, m->sup_fds_first + 1, "the supervisor "
	    "held %u descriptors, %u at the start", m->sup_fds_max,
	    m->sup_fds_first);
	cr_expect_leq(m->growth, RSS_GROWTH, "worker %d grew by %lu KiB once "
	    "warm", (int)m->growth_pid, m->growth);
	cr_expect(m->generations < 6 || m->late <= m->early + RSS_GROWTH,
	    "workers' peaks grew from %lu to %lu KiB over the run", m->early,
	    m->late);
}

