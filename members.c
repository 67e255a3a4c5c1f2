/*
 * The group's members: who may be fingered, and the lines that name them.
 *
 * An account is a member when the group lists it or when the group is its
 * primary group.  The table is built once (at start, on SIGHUP) with the
 * Login lines and the member list already rendered, so a query costs a
 * binary search and no call into the user database, which may block.
 */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fingerd.h"

static int
member_compare(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->login,
	    ((const struct member *)b)->login);
}

static bool
listed(char *const *names, const char *login)
{
	for (; names != NULL && *names != NULL; names++)
		if (strcmp(*names, login) == 0)
			return true;
	return false;
}

static void
member_free(struct member *m)
{
	free(m->login);
	free(m->home);
	free(m->plan);
	free(m->project);
	free(m->pgpkey);
	free(m->login_line);
	free(m->name);
}

/*
 * The Login line, from fields users may have written: filtered; the name
 * is kept for the member list.
 */
static char *
login_line(struct member *m, const struct account *a, size_t *len)
{
	uint8_t login[FIELD_MAX + 1], name[FIELD_MAX + 1];
	char gecos_name[FIELD_MAX + 1];
	char *line;
	int n;

	snprintf(gecos_name, sizeof(gecos_name), "%.*s",
	    (int)strcspn(a->gecos, ","), a->gecos);
	plan_filter_field(a->login, login, sizeof(login));
	plan_filter_field(gecos_name, name, sizeof(name));
	if ((m->name = strdup((char *)name)) == NULL)
		return NULL;
	n = asprintf(&line, "Login: %s\tName: %s\r\n", login, name);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return line;
}

static char *
home_file(const char *home, const char *name)
{
	char *path;

	return asprintf(&path, "%s/%s", home, name) < 0 ? NULL : path;
}

static bool
member_init(struct member *m, const struct account *a)
{
	m->login = strdup(a->login);
	m->home = strdup(a->home);
	m->plan = home_file(a->home, ".plan");
	m->project = home_file(a->home, ".project");
	m->pgpkey = home_file(a->home, ".pgpkey");
	m->login_line = login_line(m, a, &m->login_line_len);
	return m->login != NULL && m->home != NULL && m->plan != NULL &&
	    m->project != NULL && m->pgpkey != NULL && m->login_line != NULL;
}

/*
 * The columns a login takes on a terminal: its characters, a UTF-8
 * sequence being one (the login filtered as in the Login line).
 */
static size_t
login_columns(const char *login)
{
	uint8_t filtered[FIELD_MAX + 1];
	size_t i, n = plan_filter_field(login, filtered, sizeof(filtered)),
	    columns = 0;

	for (i = 0; i < n; i++)
		columns += (filtered[i] & 0xc0) != 0x80;
	return columns;
}

/* Appends a line of the list: text padded to width columns, then name. */
static void
list_line(struct members *t, const char *text, size_t columns, size_t width,
    const char *name)
{
	char *out = t->list + t->list_len;
	size_t len = strlen(text), name_len = strlen(name);

	memcpy(out, text, len);
	if (name_len > 0) {
		memset(out + len, ' ', width - columns);
		len += width - columns;
		memcpy(out + len, name, name_len);
		len += name_len;
	}
	memcpy(out + len, "\r\n", 2);
	t->list_len += len + 2;
}

/*
 * The reply to the empty query: a header, then a line a member, sorted
 * by login, the logins padded to one column: the longest login, at least
 * 8, and 2 more (a login with multi-byte characters counts its
 * characters, so the names line up on a terminal).
 */
static bool
render_list(struct members *t)
{
	size_t i, width = 8, len;
	uint8_t login[FIELD_MAX + 1];

	for (i = 0; i < t->count; i++)
		if (!t->v[i].hidden && login_columns(t->v[i].login) > width)
			width = login_columns(t->v[i].login);
	width += 2;
	len = width + sizeof("Name\r\n");
	for (i = 0; i < t->count; i++)
		len += width + FIELD_MAX + strlen(t->v[i].name) + 2;
	if ((t->list = malloc(len + 1)) == NULL)
		return false;
	t->list_len = 0;
	list_line(t, "Login", 5, width, "Name");
	for (i = 0; i < t->count; i++) {
		if (t->v[i].hidden)
			continue;
		plan_filter_field(t->v[i].login, login, sizeof(login));
		list_line(t, (char *)login, login_columns(t->v[i].login),
		    width, t->v[i].name);
	}
	t->list[t->list_len] = '\0';
	return true;
}

/* Drops the second and later of accounts with the same login. */
static void
remove_duplicates(struct members *t)
{
	size_t i, kept = 0;

	for (i = 0; i < t->count; i++) {
		if (kept > 0 && strcmp(t->v[kept - 1].login, t->v[i].login) == 0)
			member_free(&t->v[i]);
		else
			t->v[kept++] = t->v[i];
	}
	t->count = kept;
}

/*
 * Builds the table of the group gid, whose member list is names (NULL
 * terminated), from n accounts.  Returns NULL when out of memory.
 */
struct members *
members_build(gid_t gid, char *const *names, const struct account *accounts,
    size_t n)
{
	struct members *t;
	size_t i;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->refs = 1;
	if ((t->v = calloc(n + 1, sizeof(*t->v))) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		if (accounts[i].gid != gid && !listed(names, accounts[i].login))
			continue;
		if (!member_init(&t->v[t->count++], &accounts[i]))
			goto fail;
	}
	qsort(t->v, t->count, sizeof(*t->v), member_compare);
	remove_duplicates(t);
	if (!render_list(t))
		goto fail;
	return t;
fail:
	members_release(t);
	return NULL;
}

/*
 * The accounts found, each sent as it comes by the child that reads the
 * user database (members_send).
 */
struct accounts {
	FILE		*out;
	int64_t		 sent;		/* when out was last flushed */
};

static bool	account_send(FILE *, const char *, const char *,
		    const char *, gid_t);
static bool	progress_send(struct accounts *);

static bool
accounts_add(struct accounts *a, const struct passwd *pw)
{
	return account_send(a->out, pw->pw_name, pw->pw_gecos ?
	    pw->pw_gecos : "", pw->pw_dir ? pw->pw_dir : "", pw->pw_gid);
}

static int
name_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The index of login in the sorted names, or -1. */
static ssize_t
name_index(char *const *sorted, size_t n, const char *login)
{
	char *const *at = bsearch(&login, sorted, n, sizeof(*sorted),
	    name_compare);

	return at == NULL ? -1 : at - sorted;
}

/*
 * Every account, enumerated once, for those the group lists (the first
 * of each login, as getpwnam(3) would find it) and those whose primary
 * group it is; then, by name, the listed members the enumeration did
 * not give (a database that cannot enumerate still finds them).  One
 * getpwnam a member would read all of /etc/passwd for each: a group of
 * ten thousand took seconds.  names is sorted here.
 */
static bool
accounts_collect(struct accounts *a, gid_t gid, char **names)
{
	struct passwd *pw;
	size_t i, n = 0;
	bool *found, ok = true;
	ssize_t k;

	while (names[n] != NULL)
		n++;
	qsort(names, n, sizeof(*names), name_compare);
	if ((found = calloc(n + 1, sizeof(*found))) == NULL)
		return false;
	setpwent();
	while (ok && (pw = getpwent()) != NULL) {
		ok = progress_send(a);
		k = name_index(names, n, pw->pw_name);
		if (k >= 0 && !found[k]) {
			found[k] = true;
			ok = accounts_add(a, pw);
		} else if (pw->pw_gid == gid) {
			ok = accounts_add(a, pw);
		}
	}
	endpwent();
	for (i = 0; i < n && ok; i++)
		if (!found[i] && (!i || strcmp(names[i], names[i - 1]) != 0) &&
		    (pw = getpwnam(names[i])) != NULL)
			ok = accounts_add(a, pw) && progress_send(a);
	free(found);
	return ok;
}

static void
names_free(char **names)
{
	size_t i;

	for (i = 0; names != NULL && names[i] != NULL; i++)
		free(names[i]);
	free(names);
}

static char **
names_copy(char *const *names)
{
	size_t i, n = 0;
	char **copy;

	while (names[n] != NULL)
		n++;
	if ((copy = calloc(n + 1, sizeof(*copy))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if ((copy[i] = strdup(names[i])) == NULL) {
			names_free(copy);
			return NULL;
		}
	return copy;
}

/* getgrnam(3): these errno values, left by some NSS modules, mean none. */
static bool
not_found(int error)
{
	return error == 0 || error == ENOENT || error == ESRCH ||
	    error == EBADF || error == EPERM;
}

/*
 * The user database read in a child of the supervisor's (userdb.c), so
 * that an NSS source that does not answer (an LDAP server, SSSD, a hung
 * NFS /etc) holds the child, never the supervisor.  What it found goes
 * over a pipe, each field a NUL-terminated string whose first byte says
 * what it is: the group's gid ('g'), each name it lists ('n'), each
 * account ('a': login, then its gecos, home and gid, three fields more),
 * then the end ('z'), or why it failed ('e').  While the accounts are
 * enumerated, what was found is sent every PROGRESS_NS at least, with a
 * 'p' (no more than progress) where nothing else was: the supervisor
 * tells a slow source that answers from one that does not.
 */
#define PROGRESS_NS	NS_PER_SECOND

static bool
field_send(FILE *out, char kind, const char *text)
{
	return (kind == '\0' || putc(kind, out) != EOF) &&
	    fputs(text, out) != EOF && putc('\0', out) != EOF;
}

static bool
account_send(FILE *out, const char *login, const char *gecos,
    const char *home, gid_t gid)
{
	char number[24];

	snprintf(number, sizeof(number), "%u", (unsigned)gid);
	return field_send(out, 'a', login) && field_send(out, '\0', gecos) &&
	    field_send(out, '\0', home) && field_send(out, '\0', number);
}

/* Every PROGRESS_NS of an enumeration: what was found so far, sent. */
static bool
progress_send(struct accounts *a)
{
	int64_t now;

	if ((now = monotonic_ns()) - a->sent < PROGRESS_NS)
		return true;
	a->sent = now;
	return field_send(a->out, 'p', "") && fflush(a->out) == 0;
}

/*
 * The child's part: the members of group, read from the user database
 * and written to out.  Returns false when out could not take them.
 */
bool
members_send(FILE *out, const char *group)
{
	struct accounts accounts = { .out = out, .sent = monotonic_ns() };
	char number[24], **names;
	struct group *gr;
	gid_t gid;
	size_t i;

	errno = 0;
	if ((gr = getgrnam(group)) == NULL)
		return field_send(out, 'e', not_found(errno) ?
		    MEMBERS_NO_GROUP : strerror(errno)) && fflush(out) == 0;
	gid = gr->gr_gid;
	snprintf(number, sizeof(number), "%u", (unsigned)gid);
	if ((names = names_copy(gr->gr_mem)) == NULL)
		return field_send(out, 'e', "out of memory") &&
		    fflush(out) == 0;
	if (!field_send(out, 'g', number))
		goto fail;
	for (i = 0; names[i] != NULL; i++)
		if (!field_send(out, 'n', names[i]))
			goto fail;
	if (fflush(out) != 0)
		goto fail;
	if (!accounts_collect(&accounts, gid, names))
		(void)field_send(out, 'e', ferror(out) ? "the pipe failed" :
		    "out of memory");
	else if (!field_send(out, 'z', ""))
		goto fail;
	names_free(names);
	return fflush(out) == 0;
fail:
	names_free(names);
	return false;
}

/* The next field of what a child sent, from *at; NULL past the end. */
static const char *
field_next(const char *text, size_t len, size_t *at)
{
	const char *field = text + *at, *end;

	if (*at >= len || (end = memchr(field, '\0', len - *at)) == NULL)
		return NULL;
	*at += (size_t)(end - field) + 1;
	return field;
}

/* A gid as the child wrote it; false when it is not one. */
static bool
gid_read(const char *text, gid_t *gid)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(text, &end, 10);
	*gid = (gid_t)n;
	return errno == 0 && end != text && *end == '\0' && n == *gid;
}

/*
 * v (of *size elements of each bytes) with room for want, grown by
 * doubling: the same or a new pointer, or NULL (v left as it was).
 */
static void *
grow(void *v, size_t want, size_t *size, size_t each)
{
	size_t bigger = *size ? *size : 64;

	if (want <= *size)
		return v;
	while (bigger < want)
		bigger *= 2;
	if ((v = reallocarray(v, bigger, each)) != NULL)
		*size = bigger;
	return v;
}

/*
 * The supervisor's part: the table from what the child sent (len bytes
 * of text), or NULL with *why set (the child's reason, or a reading that
 * did not end).
 */
struct members *
members_received(const char *text, size_t len, const char **why)
{
	const char **names = NULL, **more_names, *f, *fields[4];
	size_t at = 0, n = 0, names_size = 0, count = 0, size = 0, k;
	struct account *accounts = NULL, *more;
	struct members *t = NULL;
	bool grouped = false, ended = false;
	gid_t gid = 0;

	*why = "the process reading it ended before the end";
	while (!ended && (f = field_next(text, len, &at)) != NULL) {
		switch (f[0]) {
		case 'g':
			if (!(grouped = gid_read(f + 1, &gid)))
				goto done;
			break;
		case 'n':
			if ((more_names = grow(names, n + 2, &names_size,
			    sizeof(*names))) == NULL)
				goto memory;
			names = more_names;
			names[n++] = f + 1;
			break;
		case 'a':
			fields[0] = f + 1;
			for (k = 1; k < 4; k++)
				if ((fields[k] = field_next(text, len, &at)) ==
				    NULL)
					goto done;
			if ((more = grow(accounts, count + 1, &size,
			    sizeof(*accounts))) == NULL)
				goto memory;
			accounts = more;
			accounts[count] = (struct account){
				.login = (char *)(uintptr_t)fields[0],
				.gecos = (char *)(uintptr_t)fields[1],
				.home = (char *)(uintptr_t)fields[2],
			};
			if (!gid_read(fields[3], &accounts[count++].gid))
				goto done;
			break;
		case 'p':
			break;
		case 'e':
			*why = f + 1;
			goto done;
		case 'z':
			ended = grouped;
			if (!ended)
				goto done;
			break;
		default:
			goto done;
		}
	}
	if (!ended)
		goto done;
	if ((more_names = grow(names, n + 1, &names_size, sizeof(*names))) ==
	    NULL)
		goto memory;
	names = more_names;
	names[n] = NULL;
	if ((t = members_build(gid, (char *const *)(uintptr_t)names,
	    accounts, count)) != NULL)
		goto done;
memory:
	*why = "out of memory";
done:
	free(names);
	free(accounts);
	return t;
}

static int
member_key_compare(const void *key, const void *elem)
{
	const struct query *q = key;
	const char *login = ((const struct member *)elem)->login;
	int c = strncmp(q->user, login, q->user_len);

	if (c != 0)
		return c;
	return login[q->user_len] == '\0' ? 0 : -1;
}

/*
 * The list again, once what the homes say is known (homes_check): a
 * member hidden by ~/.nofinger is not in it, and the columns are as if
 * they were never in the group.  The supervisor's, which has the names.
 */
bool
members_render_list(struct members *t)
{
	char *old = t->list;

	if (!render_list(t)) {
		t->list = old;
		return false;
	}
	free(old);
	return true;
}

static const struct member *
find_any(const struct members *t, const char *name, size_t len)
{
	struct query key = { .user = name, .user_len = len };

	if (memchr(name, '\0', len) != NULL)
		return NULL;
	return bsearch(&key, t->v, t->count, sizeof(*t->v),
	    member_key_compare);
}

/*
 * The member whose login is the len bytes at name, or NULL; a member
 * hidden by ~/.nofinger is no one, as an account outside the group.
 */
const struct member *
members_find(const struct members *t, const char *name, size_t len)
{
	const struct member *m = find_any(t, name, len);

	return m != NULL && m->hidden ? NULL : m;
}

/*
 * A member whose home did not answer this time (missing, hung) stays
 * hidden as in served, the table the workers serve: a home that is away
 * must not show whom its .nofinger hid.
 */
void
members_hidden_keep(struct members *t, const struct members *served)
{
	const struct member *was;
	size_t i;

	for (i = 0; served != NULL && i < t->count; i++)
		if (t->v[i].reach != HOME_REACHED && (was = find_any(served,
		    t->v[i].login, strlen(t->v[i].login))) != NULL)
			t->v[i].hidden = was->hidden;
}

struct members *
members_hold(struct members *t)
{
	t->refs++;
	return t;
}

void
members_release(struct members *t)
{
	size_t i;

	if (t == NULL || --t->refs > 0)
		return;
	for (i = 0; t->block == NULL && i < t->count; i++)
		member_free(&t->v[i]);
	free(t->v);
	if (t->block == NULL)
		free(t->list);
	free(t);
}

/*
 * The table as one block of memory, for the workers (supervisor.c hands
 * it over in a sealed memfd that each of them maps): a header, a record
 * a member, then the strings, each NUL terminated; every reference is an
 * offset from the start of the block.
 */
#define TABLE_MAGIC	"fingerd4"

struct table_header {
	char		 magic[8];
	uint64_t	 size;
	uint64_t	 count;
	uint64_t	 list, list_len;
};

struct table_record {
	uint64_t	 login, home, plan, project, pgpkey;
	uint64_t	 login_line, login_line_len;
	uint64_t	 watchable;
	uint64_t	 mount;
	uint64_t	 reach;
	uint64_t	 hidden;
};

/* Appends len bytes and a NUL to the block; returns their offset. */
static uint64_t
pack_string(uint8_t *block, size_t *end, const char *s, size_t len)
{
	uint64_t at = *end;

	memcpy(block + at, s, len);
	block[at + len] = '\0';
	*end += len + 1;
	return at;
}

/* The table in one block of *len bytes (malloc'd), or NULL. */
void *
members_pack(const struct members *t, size_t *len)
{
	struct table_header h = { .count = t->count, .list_len = t->list_len };
	struct table_record *r;
	const struct member *m;
	size_t i, size = sizeof(h) + t->count * sizeof(*r) + t->list_len + 1;
	uint8_t *block;

	for (i = 0; i < t->count; i++) {
		m = &t->v[i];
		size += strlen(m->login) + strlen(m->home) + strlen(m->plan) +
		    strlen(m->project) + strlen(m->pgpkey) +
		    m->login_line_len + 6;
	}
	if ((block = malloc(size)) == NULL)
		return NULL;
	r = (struct table_record *)(block + sizeof(h));
	*len = sizeof(h) + t->count * sizeof(*r);
	for (i = 0; i < t->count; i++) {
		m = &t->v[i];
		r[i].login = pack_string(block, len, m->login, strlen(m->login));
		r[i].home = pack_string(block, len, m->home, strlen(m->home));
		r[i].plan = pack_string(block, len, m->plan, strlen(m->plan));
		r[i].project = pack_string(block, len, m->project,
		    strlen(m->project));
		r[i].pgpkey = pack_string(block, len, m->pgpkey,
		    strlen(m->pgpkey));
		r[i].login_line = pack_string(block, len, m->login_line,
		    m->login_line_len);
		r[i].login_line_len = m->login_line_len;
		r[i].watchable = m->watchable;
		r[i].mount = m->mount;
		r[i].reach = m->reach;
		r[i].hidden = m->hidden;
	}
	h.list = pack_string(block, len, t->list, t->list_len);
	memcpy(h.magic, TABLE_MAGIC, sizeof(h.magic));
	h.size = *len;
	memcpy(block, &h, sizeof(h));
	return block;
}

/* The NUL-terminated string at offset in the block, or NULL. */
static char *
unpack_string(const uint8_t *block, size_t len, uint64_t offset)
{
	if (offset >= len || memchr(block + offset, '\0', len - offset) == NULL)
		return NULL;
	return (char *)(uintptr_t)(block + offset);
}

static bool
unpack_member(struct member *m, const uint8_t *block, size_t len,
    const struct table_record *r)
{
	m->login = unpack_string(block, len, r->login);
	m->home = unpack_string(block, len, r->home);
	m->plan = unpack_string(block, len, r->plan);
	m->project = unpack_string(block, len, r->project);
	m->pgpkey = unpack_string(block, len, r->pgpkey);
	m->login_line = unpack_string(block, len, r->login_line);
	m->login_line_len = r->login_line_len;
	m->watchable = r->watchable != 0;
	m->mount = (unsigned)r->mount;
	m->reach = (uint8_t)r->reach;
	m->hidden = r->hidden != 0;
	return m->login != NULL && m->home != NULL && m->plan != NULL &&
	    m->project != NULL && m->pgpkey != NULL &&
	    m->login_line != NULL && strlen(m->login_line) == r->login_line_len;
}

/*
 * A table whose strings point into block, which must outlive it; NULL
 * when the len bytes there are not a whole table, or out of memory.
 */
struct members *
members_unpack(const void *block, size_t len)
{
	const struct table_record *r;
	struct table_header h;
	struct members *t;

	if (len < sizeof(h))
		return NULL;
	memcpy(&h, block, sizeof(h));
	if (memcmp(h.magic, TABLE_MAGIC, sizeof(h.magic)) != 0 ||
	    h.size != len || h.count > (len - sizeof(h)) / sizeof(*r))
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->v = calloc(h.count + 1, sizeof(*t->v))) == NULL) {
		free(t);
		return NULL;
	}
	t->refs = 1;
	t->block = block;
	r = (const struct table_record *)((const uint8_t *)block + sizeof(h));
	for (t->count = 0; t->count < h.count; t->count++)
		if (!unpack_member(&t->v[t->count], block, len,
		    &r[t->count]) || r[t->count].mount >= h.count)
			goto fail;
	t->list = unpack_string(block, len, h.list);
	t->list_len = h.list_len;
	if (t->list != NULL && strlen(t->list) == h.list_len)
		return t;
fail:
	members_release(t);
	return NULL;
}
