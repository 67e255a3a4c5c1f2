/*
 * Behind a proxy (-p): a connection from a listed address begins with a
 * PROXY protocol header, v1 or v2, and the client is the address it
 * names, for the log and for -a.  The real daemon, both engines; the
 * proxy is this test, connecting from 127.0.0.2 (tests/system/test_haproxy.sh
 * puts a real HAProxy in front).  The parser itself: tests/unit/test_proxy.c.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define PROXY		"127.0.0.2"	/* listed with -p */

TestSuite(proxied, .init = fixture_setup, .fini = fixture_teardown);

/* A v2 header: PROXY over TCP/IPv6 from 2001:db8::7 port 4242, a TLV. */
static const unsigned char v2_ipv6[] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
	0x21, 0x21, 0x00, 0x2a,			/* v2 PROXY, TCP6, 36 + 6 */
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	0x10, 0x92, 0x00, 0x4f,			/* ports 4242, 79 */
	0x04, 0x00, 0x03, 'a', 'b', 'c',	/* PP2_TYPE_NOOP */
};

/* A v2 LOCAL header, as HAProxy's health checks send. */
static const unsigned char v2_local[] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
	0x20, 0x00, 0x00, 0x00,
};

/* The bytes a client from source gets for what it sends, then EOF. */
static void
exchange_from(const char *source, const void *sent, size_t len,
    struct buffer *b)
{
	int fd = client_connect_from(source, LOCAL, fx.port);

	cr_assert(fd >= 0, "connect from %s: %s", source, strerror(errno));
	client_send(fd, sent, len);
	memset(b, 0, sizeof(*b));
	cr_assert_eq(client_read_all(fd, b, WAIT_REPLY_MS), 0,
	    "no close from the server: %s", strerror(errno));
	close(fd);
}

static void
expect_from(const char *source, const void *sent, size_t len,
    const char *want, const char *what)
{
	struct buffer b;

	exchange_from(source, sent, len, &b);
	assert_bytes(&b, want, strlen(want), what);
	buffer_free(&b);
}

static void
start(const char *per_address)
{
	daemon_start(&fx, "-B", LOCAL, "-p", PROXY "/32", "-a", per_address,
	    "-t", seconds_scaled(5), NULL);
}

/*
 * With -a 4, a header (header_len bytes) and query sent at once from the
 * proxy: the reply is want, the exchange logged as logged.
 */
static void
served_behind(const void *header, size_t header_len, const char *query,
    const char *want, const char *what, const char *logged)
{
	unsigned char sent[256];
	size_t len = strlen(query);

	cr_assert_leq(header_len + len, sizeof(sent));
	memcpy(sent, header, header_len);
	memcpy(sent + header_len, query, len);
	start("4");
	expect_from(PROXY, sent, header_len + len, want, what);
	EXPECT_LOG(logged);
	daemon_stopped_cleanly(&fx);
}

Test(proxied, v1_names_the_client)
{
	static const char header[] =
	    "PROXY TCP4 192.0.2.7 127.0.0.1 5555 79\r\n";

	served_behind(header, sizeof(header) - 1, "alice\r\n", REPLY_ALICE,
	    "v1, alice", "^fingerd: client=192\\.0\\.2\\.7 query=\"alice\" "
	    "reply=plan end=ok ");
}

Test(proxied, v2_with_a_tlv_names_the_client)
{
	served_behind(v2_ipv6, sizeof(v2_ipv6), "bob\r\n", REPLY_BOB, "v2, bob",
	    "^fingerd: client=2001:db8::7 query=\"bob\" reply=plan end=ok ");
}

/* A v2 LOCAL header (a health check) leaves the proxy as the client. */
Test(proxied, v2_local_is_the_proxy_itself)
{
	served_behind(v2_local, sizeof(v2_local), "alice\r\n", REPLY_ALICE,
	    "LOCAL, alice", "^fingerd: client=127\\.0\\.0\\.2 "
	    "query=\"alice\" reply=plan end=ok ");
}

/* From a listed address, no header: closed, no reply, logged. */
Test(proxied, no_header_is_closed_without_a_reply)
{
	start("4");
	expect_from(PROXY, "alice\r\n", 7, "", "a query with no header");
	EXPECT_LOG("^fingerd: client=127\\.0\\.0\\.2 query=\"alice[^\"]*\" "
	    "reply=none why=[a-z0-9-]+ end=bad-proxy ");
	expect_from(LOCAL, "alice\r\n", 7, REPLY_ALICE, "an unlisted client");
	daemon_stopped_cleanly(&fx);
}

/* A header cut short by the client's end: closed, logged. */
Test(proxied, truncated_header_is_closed_without_a_reply)
{
	struct buffer b = { 0 };
	int fd;

	start("4");
	fd = client_connect_from(PROXY, LOCAL, fx.port);
	cr_assert(fd >= 0);
	client_send(fd, "PROXY TCP4 192.0.2.7 12", 23);
	client_half_close(fd);
	cr_assert_eq(client_read_all(fd, &b, WAIT_REPLY_MS), 0);
	assert_reply(&b, "", "a truncated header");
	close(fd);
	buffer_free(&b);
	EXPECT_LOG("reply=none why=truncated end=bad-proxy ");
	daemon_stopped_cleanly(&fx);
}

/*
 * A header the deadline cuts short: reset, as any connection at its
 * deadline, and logged end=timeout with what came, not bad-proxy.
 */
Test(proxied, a_header_cut_by_the_deadline_is_a_timeout)
{
	struct buffer b = { 0 };
	int fd;

	daemon_start(&fx, "-B", LOCAL, "-p", PROXY "/32", "-t", "1", NULL);
	fd = client_connect_from(PROXY, LOCAL, fx.port);
	cr_assert(fd >= 0);
	client_send(fd, "PROXY TCP4 192.0.2.7 12", 23);
	cr_assert(client_read_all(fd, &b, WAIT_REPLY_MS) == -1 &&
	    errno == ECONNRESET, "not reset at the deadline");
	assert_reply(&b, "", "a header cut by the deadline");
	close(fd);
	buffer_free(&b);
	EXPECT_LOG("^fingerd: client=" PROXY " query=\"PROXY TCP4 192\\.0"
	    "\\.2\\.7 12\" reply=none end=timeout sent=0 ");
	cr_assert_eq(log_count(&fx, "end=bad-proxy"), 0);
	daemon_stopped_cleanly(&fx);
}

/* Hostile headers, each closed with no reply and logged bad-proxy. */
Test(proxied, hostile_headers_get_nothing)
{
	static const char *const hostile[] = {
		"PROXY TCP4 192.0.2.7 127.0.0.1 5555 79\n",	/* no CR */
		"PROXY TCP4 192.0.2.7  127.0.0.1 5555 79\r\n",
		"PROXY TCP4 192.0.2.07 127.0.0.1 5555 79\r\n",
		"PROXY TCP6 192.0.2.7 127.0.0.1 5555 79\r\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 65536 79\r\n",
		"PROXY UDP4 192.0.2.7 127.0.0.1 5555 79\r\n",
	};
	char oversized[200];
	struct buffer b;
	size_t i;

	start("64");
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
		expect_from(PROXY, hostile[i], strlen(hostile[i]), "",
		    hostile[i]);
	memset(oversized, 'x', sizeof(oversized));
	memcpy(oversized, "PROXY TCP4 ", 11);
	exchange_from(PROXY, oversized, sizeof(oversized), &b);
	assert_reply(&b, "", "108 bytes and no CRLF");
	buffer_free(&b);
	cr_assert(log_wait(&fx, "end=bad-proxy ", 7, WAIT_LOG_MS),
	    "not every hostile header logged bad-proxy");
	cr_assert_eq(log_count(&fx, "reply=plan"), 0);
	expect_from(LOCAL, "alice\r\n", 7, REPLY_ALICE, "served meanwhile");
	daemon_stopped_cleanly(&fx);
}

/* A header dripped a byte at a time is read as one, within -t. */
Test(proxied, a_dripped_header_is_read_whole)
{
	static const char sent[] =
	    "PROXY TCP4 192.0.2.9 127.0.0.1 5555 79\r\nalice\r\n";
	struct buffer b = { 0 };
	size_t i;
	int fd;

	start("4");
	fd = client_connect_from(PROXY, LOCAL, fx.port);
	cr_assert(fd >= 0);
	for (i = 0; i < sizeof(sent) - 1; i++) {
		client_send(fd, sent + i, 1);
		usleep(2000);
	}
	cr_assert_eq(client_read_all(fd, &b, WAIT_REPLY_MS), 0);
	assert_reply(&b, REPLY_ALICE, "a dripped header");
	close(fd);
	buffer_free(&b);
	EXPECT_LOG("^fingerd: client=192\\.0\\.2\\.9 query=\"alice\" ");
	daemon_stopped_cleanly(&fx);
}

/* Only the first header is one: a second is the query line. */
Test(proxied, a_second_header_is_the_query)
{
	static const char header[] =
	    "PROXY TCP4 192.0.2.7 127.0.0.1 5555 79\r\n";

	served_behind(header, sizeof(header) - 1,
	    "PROXY TCP4 192.0.2.8 127.0.0.1 5555 79\r\n", REPLY_INVALID,
	    "a second header", "^fingerd: client=192\\.0\\.2\\.7 "
	    "query=\"PROXY TCP4 192\\.0\\.2\\.8 ");
}

/*
 * -a counts the clients the headers name, not the proxy: with -a 1,
 * connections waiting for their headers do not count, one client is
 * limited to one connection, and another is served meanwhile.
 */
Test(proxied, per_address_counts_the_named_clients)
{
	static const char held[] = "PROXY TCP4 192.0.2.7 127.0.0.1 1 79\r\n";
	static const char again[] =
	    "PROXY TCP4 192.0.2.7 127.0.0.1 2 79\r\nalice\r\n";
	static const char other[] =
	    "PROXY TCP4 192.0.2.8 127.0.0.1 3 79\r\nalice\r\n";
	int waiting[3], holder;
	size_t i;

	start("1");
	for (i = 0; i < 3; i++)
		cr_assert((waiting[i] = client_connect_from(PROXY, LOCAL,
		    fx.port)) >= 0);
	cr_assert((holder = client_connect_from(PROXY, LOCAL, fx.port)) >= 0);
	client_send(holder, held, sizeof(held) - 1);	/* and no query */
	usleep(200 * 1000);
	expect_from(PROXY, again, sizeof(again) - 1, REPLY_TOO_MANY,
	    "192.0.2.7 again, past -a 1");
	expect_from(PROXY, other, sizeof(other) - 1, REPLY_ALICE,
	    "192.0.2.8, while 192.0.2.7 holds its one");
	EXPECT_LOG("^fingerd: client=192\\.0\\.2\\.7 query=\"\" "
	    "reply=too-many-from-address ");
	for (i = 0; i < 3; i++)
		cr_assert(client_quiet(waiting[i]), "a connection waiting for "
		    "its header was answered");
	for (i = 0; i < 3; i++)
		close(waiting[i]);
	close(holder);
	daemon_stopped_cleanly(&fx);
}

/* Under inetd (a proxy in front of inetd): the same header, read once. */
Test(proxied, inetd_reads_the_header)
{
	static const char sent[] =
	    "PROXY TCP4 192.0.2.7 127.0.0.1 5555 79\r\nalice\r\n";
	struct buffer reply;
	double took;

	cr_assert_eq(inetd_finger(&fx, sent, &reply, &took, "-i", "-p",
	    LOCAL, NULL), 0);
	assert_reply(&reply, REPLY_ALICE, "-i behind a proxy");
	buffer_free(&reply);
	cr_assert(log_wait(&fx, "client=192\\.0\\.2\\.7 query=\"alice\" "
	    "reply=plan end=ok ", 1, WAIT_LOG_MS));
}
