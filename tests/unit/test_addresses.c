/*
 * Unit tests of addresses.c: connections at once per client address.  The
 * table is checked against a plain array model over fixed-seed random
 * operations, with addresses chosen to collide in a small table.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fingerd.h"
#include "rng.h"

/* A small table: 16 slots for 8 clients. */
#define CLIENTS		8
#define SLOTS		16

static struct in6_addr
ipv6(const char *text)
{
	struct in6_addr a;

	cr_assert_eq(inet_pton(AF_INET6, text, &a), 1, "%s", text);
	return a;
}

/*
 * 2001:db8:n::1, n in bytes 4 to 7: each in a /64 of its own, as -a
 * counts IPv6 clients by their /64.
 */
static struct in6_addr
numbered(uint32_t n)
{
	struct in6_addr a = ipv6("2001:db8::1");

	a.s6_addr[4] = (uint8_t)(n >> 24);
	a.s6_addr[5] = (uint8_t)(n >> 16);
	a.s6_addr[6] = (uint8_t)(n >> 8);
	a.s6_addr[7] = (uint8_t)n;
	return a;
}

/*
 * The home slot the table gives a, if its hash is still this one; only
 * used to pick addresses that collide.  Were the hash to change, the tests
 * would still be right, only less demanding.
 */
static size_t
home_slot(const struct in6_addr *a, size_t slots)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < sizeof(a->s6_addr); i++)
		h = (h ^ a->s6_addr[i]) * 0x100000001b3ULL;
	return (size_t)(h ^ (h >> 29)) & (slots - 1);
}

/* Fills v with n addresses whose home slot is slot; returns the next n. */
static uint32_t
colliding(struct in6_addr *v, size_t n, size_t slot, uint32_t from)
{
	size_t found = 0;

	while (found < n) {
		v[found] = numbered(from++);
		if (home_slot(&v[found], SLOTS) == slot)
			found++;
	}
	return from;
}

/*
 * How many connections the table counts for a, found without changing
 * it for good: one more, then one less.
 */
static unsigned
count_of(struct address_counts *t, const struct in6_addr *a)
{
	unsigned n = address_counts_add(t, a);

	cr_assert_geq(n, 1);
	address_counts_remove(t, a);
	return n - 1;
}

Test(addresses, count_per_address)
{
	struct address_counts *t = address_counts_new(CLIENTS);
	struct in6_addr a = ipv6("2001:db8::1"), b = ipv6("2001:db8:0:1::1");

	cr_assert_not_null(t);
	cr_assert_eq(address_counts_add(t, &a), 1);
	cr_assert_eq(address_counts_add(t, &a), 2);
	cr_assert_eq(address_counts_add(t, &b), 1);
	cr_assert_eq(address_counts_add(t, &a), 3);
	address_counts_remove(t, &a);
	cr_assert_eq(count_of(t, &a), 2);
	cr_assert_eq(count_of(t, &b), 1);
	address_counts_remove(t, &b);
	cr_assert_eq(count_of(t, &b), 0);
	cr_assert_eq(address_counts_add(t, &b), 1);
	address_counts_free(t);
}

/* Removing what is not counted changes nothing. */
Test(addresses, remove_absent)
{
	struct address_counts *t = address_counts_new(CLIENTS);
	struct in6_addr a = ipv6("2001:db8::1"), b = ipv6("2001:db8:0:1::2");

	cr_assert_not_null(t);
	address_counts_remove(t, &a);
	cr_assert_eq(address_counts_add(t, &b), 1);
	address_counts_remove(t, &a);
	cr_assert_eq(count_of(t, &b), 1);
	cr_assert_eq(count_of(t, &a), 0);
	address_counts_free(t);
	address_counts_free(NULL);
}

/*
 * Were a slot not freed at zero, the table (it never grows) would fill
 * after SLOTS addresses and the next lookup would never end.
 */
Test(addresses, removal_to_zero_frees_the_slot, .timeout = 20)
{
	struct address_counts *t = address_counts_new(1);
	struct in6_addr a;
	uint32_t i;

	cr_assert_not_null(t);
	for (i = 0; i < 100 * SLOTS; i++) {
		a = numbered(i);
		cr_assert_eq(address_counts_add(t, &a), 1, "address %u", i);
		cr_assert_eq(address_counts_add(t, &a), 2, "address %u", i);
		address_counts_remove(t, &a);
		address_counts_remove(t, &a);
	}
	for (i = 0; i < 100 * SLOTS; i++) {
		a = numbered(i);
		cr_assert_eq(count_of(t, &a), 0, "address %u", i);
	}
	address_counts_free(t);
}

static void
swap(size_t *a, size_t *b)
{
	size_t tmp = *a;

	*a = *b;
	*b = tmp;
}

/* The next permutation of p[0..n) in lexical order; false after the last. */
static bool
next_permutation(size_t *p, size_t n)
{
	size_t i = n - 1, j = n - 1;

	while (i > 0 && p[i - 1] >= p[i])
		i--;
	if (i == 0)
		return false;
	while (p[j] <= p[i - 1])
		j--;
	swap(&p[i - 1], &p[j]);
	for (j = n - 1; i < j; i++, j--)
		swap(&p[i], &p[j]);
	return true;
}

/*
 * Six addresses with one home slot, at the end of the table so that their
 * run wraps around, and one whose home slot is inside that run: removed
 * in every order, the others must still be found with their counts.
 */
Test(addresses, colliding_removed_in_every_order)
{
	enum { N = 7 };
	struct in6_addr v[N];
	size_t order[N], i, j, k, permutations = 0;
	struct address_counts *t;

	colliding(v, N - 1, SLOTS - 2, colliding(v + N - 1, 1, 1, 0));
	for (i = 0; i < N; i++)
		order[i] = i;
	do {
		t = address_counts_new(CLIENTS);
		cr_assert_not_null(t);
		for (i = 0; i < N; i++)
			for (k = 0; k <= i % 2; k++)
				address_counts_add(t, &v[i]);
		for (j = 0; j < N; j++) {
			for (k = 0; k <= order[j] % 2; k++)
				address_counts_remove(t, &v[order[j]]);
			for (i = j + 1; i < N; i++)
				cr_assert_eq(count_of(t, &v[order[i]]),
				    1 + order[i] % 2, "permutation %zu, after "
				    "%zu removals", permutations, j + 1);
			cr_assert_eq(count_of(t, &v[order[j]]), 0);
		}
		address_counts_free(t);
		permutations++;
	} while (next_permutation(order, N));
	cr_assert_eq(permutations, 5040);
}

/* A pool of addresses for the random test, most of them colliding. */
#define POOL	24

static void
make_pool(struct in6_addr *pool)
{
	uint32_t next = 0;
	size_t i;

	next = colliding(pool, 6, SLOTS - 1, next);	/* runs wrap around */
	next = colliding(pool + 6, 4, 0, next);
	next = colliding(pool + 10, 3, 1, next);
	next = colliding(pool + 13, 3, 3, next);
	next = colliding(pool + 16, 2, 7, next);
	for (i = 18; i < POOL; i++)
		pool[i] = numbered(1000000 + (uint32_t)i);
}

/* The table must agree with the model on every address of the pool. */
static void
assert_agrees(struct address_counts *t, const struct in6_addr *pool,
    const unsigned *model, size_t step)
{
	size_t i;
	unsigned n;

	for (i = 0; i < POOL; i++) {
		n = count_of(t, &pool[i]);
		cr_assert_eq(n, model[i], "step %zu: address %zu counted %u, "
		    "model %u", step, i, n, model[i]);
	}
}

/*
 * Random adds and removes, never more than CLIENTS - 1 connections at
 * once (count_of() adds one more for a moment).
 */
Test(addresses, random_against_model)
{
	struct in6_addr pool[POOL];
	unsigned model[POOL] = { 0 }, total = 0;
	struct address_counts *t = address_counts_new(CLIENTS);
	size_t step, i;

	cr_assert_not_null(t);
	make_pool(pool);
	for (step = 0; step < 20000; step++) {
		i = rng() % POOL;
		if (rng() % 2 == 0 && total < CLIENTS - 1) {
			cr_assert_eq(address_counts_add(t, &pool[i]),
			    model[i] + 1, "step %zu: add of %zu", step, i);
			model[i]++;
			total++;
		} else {
			address_counts_remove(t, &pool[i]);
			if (model[i] > 0) {
				model[i]--;
				total--;
			}
		}
		assert_agrees(t, pool, model, step);
	}
	address_counts_free(t);
}

/* A larger table nearly full of distinct addresses, drained at random. */
Test(addresses, random_large_table)
{
	enum { N = 200 };
	static struct in6_addr v[N];
	static unsigned model[N];
	struct address_counts *t = address_counts_new(N);
	size_t step, i, j;

	cr_assert_not_null(t);
	for (i = 0; i < N; i++)
		v[i] = numbered((uint32_t)(i * 2654435761u));
	for (step = 0; step < 50000; step++) {
		i = rng() % N;
		if (rng() % 3 != 0) {
			cr_assert_eq(address_counts_add(t, &v[i]), model[i] + 1);
			model[i]++;
		} else {
			address_counts_remove(t, &v[i]);
			if (model[i] > 0)
				model[i]--;
		}
		if (step % 1000 == 0)
			for (j = 0; j < N; j++)
				cr_assert_eq(count_of(t, &v[j]), model[j]);
	}
	address_counts_free(t);
}

static struct sockaddr_storage
sockaddr_v4(const char *text)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(54321);
	cr_assert_eq(inet_pton(AF_INET, text, &sin->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage
sockaddr_v6(const char *text)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(12345);
	sin6->sin6_addr = ipv6(text);
	return ss;
}

Test(address_normalize, ipv4_is_v4_mapped)
{
	static const uint8_t want[16] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7
	};
	struct sockaddr_storage ss = sockaddr_v4("192.0.2.7");
	struct in6_addr a;

	memset(&a, 0x55, sizeof(a));
	address_normalize(&ss, &a);
	cr_assert_arr_eq(a.s6_addr, want, 16);
}

Test(address_normalize, ipv4_and_mapped_same_key)
{
	struct sockaddr_storage v4 = sockaddr_v4("192.0.2.7");
	struct sockaddr_storage mapped = sockaddr_v6("::ffff:192.0.2.7");
	struct in6_addr a, b;
	struct address_counts *t = address_counts_new(CLIENTS);

	address_normalize(&v4, &a);
	address_normalize(&mapped, &b);
	cr_assert_arr_eq(a.s6_addr, b.s6_addr, 16);
	cr_assert_not_null(t);
	cr_assert_eq(address_counts_add(t, &a), 1);
	cr_assert_eq(address_counts_add(t, &b), 2);
	address_counts_free(t);
}

Test(address_normalize, ipv6_kept)
{
	struct sockaddr_storage ss = sockaddr_v6("2001:db8::c000:207");
	struct in6_addr a, v4key, want = ipv6("2001:db8::c000:207");
	struct sockaddr_storage v4 = sockaddr_v4("192.0.2.7");

	address_normalize(&ss, &a);
	cr_assert_arr_eq(a.s6_addr, want.s6_addr, 16);
	address_normalize(&v4, &v4key);
	cr_assert_arr_neq(a.s6_addr, v4key.s6_addr, 16);
}

Test(address_normalize, loopbacks_differ)
{
	struct sockaddr_storage v4 = sockaddr_v4("127.0.0.1");
	struct sockaddr_storage v6 = sockaddr_v6("::1");
	struct in6_addr a, b;

	address_normalize(&v4, &a);
	address_normalize(&v6, &b);
	cr_assert_arr_neq(a.s6_addr, b.s6_addr, 16);
	cr_assert(IN6_IS_ADDR_LOOPBACK(&b));
	cr_assert(IN6_IS_ADDR_V4MAPPED(&a));
}

static void
expect_format(const char *v6text, const char *want)
{
	struct in6_addr a = ipv6(v6text);
	char buf[INET6_ADDRSTRLEN];

	memset(buf, 'z', sizeof(buf));
	cr_assert_eq(address_format(&a, buf, sizeof(buf)), strlen(want));
	cr_assert_str_eq(buf, want, "%s", v6text);
}

/*
 * a as address_format() writes it, against what inet_ntop writes (the
 * dotted IPv4 form for a v4-mapped address), in a buffer of its size.
 */
static void
expect_as_inet_ntop(const struct in6_addr *a)
{
	char buf[INET6_ADDRSTRLEN], want[INET6_ADDRSTRLEN];

	if (IN6_IS_ADDR_V4MAPPED(a))
		cr_assert_not_null(inet_ntop(AF_INET, &a->s6_addr[12], want,
		    sizeof(want)));
	else
		cr_assert_not_null(inet_ntop(AF_INET6, a, want, sizeof(want)));
	memset(buf, 'z', sizeof(buf));
	cr_assert_eq(address_format(a, buf, sizeof(buf)), strlen(want),
	    "%s", want);
	cr_assert_str_eq(buf, want);
}

Test(address_format, v4_mapped_as_dotted)
{
	expect_format("::ffff:192.0.2.7", "192.0.2.7");
	expect_format("::ffff:0.0.0.0", "0.0.0.0");
	expect_format("::ffff:255.255.255.255", "255.255.255.255");
}

Test(address_format, ipv6)
{
	expect_format("::1", "::1");
	expect_format("::", "::");
	expect_format("2001:db8::1", "2001:db8::1");
	expect_format("fe80::1:2:3:4", "fe80::1:2:3:4");
	expect_format("2001:db8:85a3:8d3:1319:8a2e:370:7348",
	    "2001:db8:85a3:8d3:1319:8a2e:370:7348");
}

/*
 * The dotted form, made by hand, against inet_ntop's: each octet's 256
 * values in each place, and 100,000 addresses at random.
 */
Test(address_format, v4_as_inet_ntop_writes_it)
{
	char buf[INET6_ADDRSTRLEN], want[INET_ADDRSTRLEN];
	struct in6_addr a = ipv6("::ffff:0.0.0.0");
	uint32_t v;
	int i, place;

	for (i = 0; i < 256 * 4 + 100000; i++) {
		if (i < 256 * 4) {
			place = i / 256;
			memset(&a.s6_addr[12], place == 0 ? 255 : 1, 4);
			a.s6_addr[12 + place] = (uint8_t)(i % 256);
		} else {
			v = (uint32_t)rng();
			memcpy(&a.s6_addr[12], &v, 4);
		}
		memset(buf, 'z', sizeof(buf));
		cr_assert_eq(address_format(&a, buf, sizeof(buf)),
		    strlen(buf));
		cr_assert_not_null(inet_ntop(AF_INET, &a.s6_addr[12], want,
		    sizeof(want)));
		cr_assert_str_eq(buf, want);
	}
}

/*
 * The program's own data and bss, as the linker marks them: from the
 * page after the one where the data begins, which may hold the
 * relocations a lazy binding writes (.got.plt).
 */
extern char __data_start[], _end[];

/*
 * The first dotted form a process writes, its data and bss made read
 * only: formatting writes no memory of the program's, as the table of
 * octets filled at the first use did (a second thread could read it
 * partly filled, its first entry marked ready first).  In a child, which
 * dies of SIGSEGV where a write is tried.
 */
Test(address_format, v4_first_use_writes_no_static_memory)
{
	struct in6_addr a = ipv6("::ffff:192.168.255.7");
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t from = ((uintptr_t)__data_start + page - 1) & ~(page - 1);
	uintptr_t to = ((uintptr_t)_end + page - 1) & ~(page - 1);
	char buf[INET6_ADDRSTRLEN];
	pid_t pid;
	int status;

	cr_assert((pid = fork()) >= 0);
	if (pid == 0) {
		if (mprotect((void *)from, to - from, PROT_READ) != 0)
			_exit(2);
		_exit(address_format(&a, buf, sizeof(buf)) ==
		    sizeof("192.168.255.7") - 1 &&
		    memcmp(buf, "192.168.255.7", sizeof("192.168.255.7")) == 0 ?
		    0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "killed by signal %d", WTERMSIG(status));
	cr_assert_eq(WEXITSTATUS(status), 0);
}

/* A group that is not zero: each length of hex, its edges, or any. */
static unsigned
group_not_zero(void)
{
	static const unsigned edges[] = {
		0x1, 0x9, 0xa, 0xf, 0x10, 0xff, 0x100, 0xfff, 0x1000, 0xffff,
	};
	size_t i = rng_below(sizeof(edges) / sizeof(edges[0]) + 1);

	return i < sizeof(edges) / sizeof(edges[0]) ? edges[i] :
	    1 + (unsigned)rng_below(0xffff);
}

/*
 * The IPv6 form, made by hand, against inet_ntop's: for each of the 256
 * patterns of zero and other groups ("::" in every position and of
 * every length, two runs of a length, the first taken; the
 * IPv4-compatible ::a.b.c.d that glibc writes dotted; ::ffff:0:0/96,
 * which it does not; v4-mapped, dotted by both), 64 fillings of the
 * other groups; then 100,000 addresses at random.
 */
Test(address_format, ipv6_as_inet_ntop_writes_it)
{
	struct in6_addr a;
	unsigned pattern, group;
	int i, fill;

	for (pattern = 0; pattern < 256; pattern++) {
		for (fill = 0; fill < 64; fill++) {
			for (i = 0; i < 8; i++) {
				group = pattern & 1U << i ? group_not_zero() :
				    0;
				a.s6_addr[2 * i] = (uint8_t)(group >> 8);
				a.s6_addr[2 * i + 1] = (uint8_t)group;
			}
			expect_as_inet_ntop(&a);
		}
	}
	for (i = 0; i < 100000; i++) {
		for (fill = 0; fill < 16; fill++)
			a.s6_addr[fill] = (uint8_t)rng();
		expect_as_inet_ntop(&a);
	}
}

/* The IPv4-compatible form and its neighbours, as glibc writes them. */
Test(address_format, ipv6_around_the_ipv4_compatible_form)
{
	expect_format("::1", "::1");
	expect_format("::2", "::2");
	expect_format("::0.1.0.0", "::0.1.0.0");
	expect_format("::1.2.3.4", "::1.2.3.4");
	expect_format("::255.255.255.255", "::255.255.255.255");
	expect_format("::ffff:0:1.2.3.4", "::ffff:0:102:304");
	expect_format("::1:0:0:0", "::1:0:0:0");
	expect_format("1::", "1::");
	expect_format("1:0:0:1::", "1:0:0:1::");
	expect_format("1::1:0:0:1", "1::1:0:0:1");
	expect_format("1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0");
}

/*
 * A buffer too small for the text gets "", as from inet_ntop; one of
 * the text's length and its NUL gets it whole.
 */
Test(address_format, a_buffer_too_small_gets_nothing)
{
	static const char *const texts[] = {
		"::ffff:192.0.2.7", "2001:db8:85a3:8d3:1319:8a2e:370:7348",
	};
	struct in6_addr a;
	char buf[INET6_ADDRSTRLEN], want[INET6_ADDRSTRLEN];
	size_t i, len;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		a = ipv6(texts[i]);
		len = address_format(&a, want, sizeof(want));
		memset(buf, 'z', sizeof(buf));
		cr_assert_eq(address_format(&a, buf, len), 0);
		cr_assert_str_eq(buf, "");
		memset(buf, 'z', sizeof(buf));
		cr_assert_eq(address_format(&a, buf, len + 1), len);
		cr_assert_str_eq(buf, want);
		cr_assert_eq(address_format(&a, buf, 0), 0);
		cr_assert_str_eq(buf, want, "size 0 wrote");
	}
}

/* What the log gets from a client address, from accept to text. */
Test(address_format, normalized_v4)
{
	struct sockaddr_storage ss = sockaddr_v4("198.51.100.23");
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr a;

	address_normalize(&ss, &a);
	address_format(&a, buf, sizeof(buf));
	cr_assert_str_eq(buf, "198.51.100.23");
}

Test(socket_address_format, ipv4_and_ipv6_with_their_port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char text[INET6_ADDRSTRLEN + 16];

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(79);
	inet_pton(AF_INET, "192.0.2.1", &sin->sin_addr);
	socket_address_format(&ss, text, sizeof(text));
	cr_assert_str_eq(text, "192.0.2.1:79");
	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(7979);
	socket_address_format(&ss, text, sizeof(text));
	cr_assert_str_eq(text, "[::]:7979");
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6->sin6_addr);
	socket_address_format(&ss, text, sizeof(text));
	cr_assert_str_eq(text, "[::ffff:127.0.0.1]:7979");
}

/*
 * An IPv6 client counts by its /64: an attacker rotating through the
 * addresses of one /64 is one client.  IPv4, link-local and loopback
 * addresses count one by one.
 */
Test(address_limit_key, ipv6_counts_by_its_64)
{
	struct address_counts *t = address_counts_new(CLIENTS);
	struct in6_addr a = ipv6("2001:db8:1:2::1");
	struct in6_addr b = ipv6("2001:db8:1:2:ffff:ffff:ffff:fffe");
	struct in6_addr other = ipv6("2001:db8:1:3::1");

	cr_assert_not_null(t);
	cr_assert_eq(address_counts_add(t, &a), 1);
	cr_assert_eq(address_counts_add(t, &b), 2, "the same /64");
	cr_assert_eq(address_counts_add(t, &other), 1, "another /64");
	address_counts_remove(t, &a);
	cr_assert_eq(address_counts_add(t, &b), 2, "one of two removed");
	address_counts_remove(t, &b);
	address_counts_remove(t, &b);
	cr_assert_eq(address_counts_add(t, &a), 1, "all removed");
	address_counts_free(t);
}

Test(address_limit_key, ipv4_link_local_and_loopback_count_alone)
{
	static const char *const alone[][2] = {
		{ "::ffff:192.0.2.1", "::ffff:192.0.2.2" },
		{ "fe80::1", "fe80::2" },
		{ "::1", "::2" },
	};
	struct address_counts *t = address_counts_new(CLIENTS);
	struct in6_addr a, b;
	size_t i;

	cr_assert_not_null(t);
	for (i = 0; i < sizeof(alone) / sizeof(alone[0]); i++) {
		a = ipv6(alone[i][0]);
		b = ipv6(alone[i][1]);
		cr_assert_eq(address_counts_add(t, &a), 1, "%s", alone[i][0]);
		cr_assert_eq(address_counts_add(t, &b), 1, "%s", alone[i][1]);
	}
	address_counts_free(t);
}

/*
 * Behind NAT64 (64:ff9b::/96) the client is the IPv4 address in the last
 * 32 bits: one /64 holds every IPv4 client of the translator, so each
 * counts as its IPv4 address, the same as when it comes directly.
 * Teredo's /64 (2001::/32) is its server's: each address counts alone.
 */
Test(address_limit_key, nat64_and_teredo_clients_count_alone)
{
	struct address_counts *t = address_counts_new(CLIENTS);
	struct in6_addr nat_a = ipv6("64:ff9b::192.0.2.1");
	struct in6_addr nat_b = ipv6("64:ff9b::192.0.2.2");
	struct in6_addr direct_a = ipv6("::ffff:192.0.2.1");
	struct in6_addr teredo_a = ipv6("2001:0:4136:e378:8000:63bf:3fff:fdd2");
	struct in6_addr teredo_b = ipv6("2001:0:4136:e378:8000:63bf:3fff:fdd3");
	struct in6_addr key;

	cr_assert_not_null(t);
	cr_assert_eq(address_counts_add(t, &nat_a), 1);
	cr_assert_eq(address_counts_add(t, &nat_b), 1, "another IPv4 client");
	cr_assert_eq(address_counts_add(t, &direct_a), 2,
	    "the same IPv4 client, directly");
	cr_assert_eq(address_counts_add(t, &teredo_a), 1);
	cr_assert_eq(address_counts_add(t, &teredo_b), 1,
	    "another client of the same Teredo server");
	address_limit_key(&nat_a, &key);
	cr_assert_eq(memcmp(&key, &direct_a, sizeof(key)), 0);
	address_counts_free(t);
}
