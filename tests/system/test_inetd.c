/*
 * The daemon suite (its TestSuite in test_options.c), -i as inetd runs
 * it, on a connected socket: the log never reaches the client, goes to
 * syslog when stderr is the connection or to another socket, and the
 * engine falls back to epoll.  (A home out of reach under -i: in
 * test_plans.c, with the homes.)
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

/*
 * -i, as inetd runs it: a connected socket is stdin and stdout.  Runs
 * fingerd -i on one for "alice", stderr being that socket too or another
 * one; returns what the client and what stderr received.
 */
static void
inetd_exchange(bool stderr_is_connection, struct buffer *reply,
    struct buffer *log, const char *engine)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int listener, client, served, errs[2], stdio[3];

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert((listener = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	cr_assert_eq(bind(listener, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(listener, 1), 0);
	cr_assert_eq(getsockname(listener, (struct sockaddr *)&sin, &len), 0);
	cr_assert((client = client_connect(LOCAL, ntohs(sin.sin_port))) >= 0);
	cr_assert((served = accept(listener, NULL, NULL)) >= 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, errs), 0);
	stdio[0] = stdio[1] = served;
	stdio[2] = stderr_is_connection ? served : errs[1];
	fx.stdio = stdio;
	client_send(client, "alice\r\n", 7);
	cr_assert_eq(engine != NULL ? daemon_run(&fx, "-i", "-E", engine, NULL) :
	    daemon_run(&fx, "-i", NULL), 0, "fingerd -i failed");
	close(served);
	close(errs[1]);
	close(listener);
	cr_assert_eq(client_read_all(client, reply, WAIT_REPLY_MS), 0);
	cr_assert_eq(client_read_all(errs[0], log, WAIT_REPLY_MS), 0);
	close(client);
	close(errs[0]);
}

Test(daemon, inetd_log_never_reaches_the_client)
{
	struct buffer reply = { 0 }, log = { 0 };

	inetd_exchange(true, &reply, &log, NULL);
	assert_reply(&reply, REPLY_ALICE, "-i, stderr the connection");
	cr_assert_eq(log.len, 0);
	buffer_free(&reply);
	buffer_free(&log);
}

/*
 * inetd hands the connection over as stderr too: the log goes to syslog
 * by default (FINGERD_SYSLOG_PATH stands for /dev/log), not to /dev/null
 * (no log at all), and never to the client.
 */
Test(daemon, inetd_logs_to_syslog_when_stderr_is_the_connection)
{
	struct buffer reply = { 0 }, log = { 0 }, datagrams = { 0 };
	int fd = syslog_bind(&fx);

	inetd_exchange(true, &reply, &log, NULL);
	assert_reply(&reply, REPLY_ALICE, "-i, stderr the connection");
	cr_assert_eq(log.len, 0);
	cr_assert(syslog_wait(fd, &datagrams, "^fingerd\\[[0-9]+\\]: "
	    "client=127\\.0\\.0\\.1 query=\"alice\" reply=plan end=ok ", 1,
	    WAIT_LOG_MS), "no exchange line in syslog: %s", datagrams.data);
	close(fd);
	buffer_free(&reply);
	buffer_free(&log);
	buffer_free(&datagrams);
}

/* Under systemd (Accept=yes), stderr is the journal's socket: kept. */
Test(daemon, inetd_logs_to_another_socket)
{
	struct buffer reply = { 0 }, log = { 0 };

	inetd_exchange(false, &reply, &log, NULL);
	assert_reply(&reply, REPLY_ALICE, "-i, stderr another socket");
	cr_assert(log.data != NULL && strstr(log.data,
	    "fingerd: client=127.0.0.1 query=\"alice\" "
	    "reply=plan end=ok sent=") != NULL, "log: %s", log.data);
	buffer_free(&reply);
	buffer_free(&log);
}

/* inetd in a container: -i falls back to epoll too, and says nothing. */
Test(daemon, inetd_falls_back_to_epoll)
{
	struct buffer reply = { 0 }, log = { 0 };

	fx.child_setup = child_block_io_uring;
	inetd_exchange(false, &reply, &log, "auto");
	assert_reply(&reply, REPLY_ALICE, "-i, io_uring refused");
	cr_assert(log.data != NULL && strstr(log.data,
	    "fingerd: client=127.0.0.1 query=\"alice\" reply=plan end=ok "
	    "sent=") != NULL && strstr(log.data, "engine") == NULL &&
	    strstr(log.data, "io_uring") == NULL, "log: %s", log.data);
	buffer_free(&reply);
	buffer_free(&log);
}

/* Whether process pid blocks signal signo (/proc's SigBlk). */
static bool
blocks(pid_t pid, int signo)
{
	char value[64];

	status_field(pid, "SigBlk", value, sizeof(value));
	return value[0] != '\0' && strtoull(value + sizeof("SigBlk:") - 1,
	    NULL, 16) & (1ULL << (signo - 1));
}

/*
 * SIGUSR1 (`pkill -USR1 fingerd`, for the daemon's status line, reaches
 * every fingerd process) does nothing to -i's one process: its query,
 * finished after it, is answered, and it exits 0.
 */
Test(daemon, inetd_takes_no_sigusr1)
{
	struct buffer reply = { 0 };
	double until;
	int fd, status;

	fd = inetd_start(&fx, "ali", "-i", NULL);
	until = now_seconds() + WAIT_START_MS / 1000.0;
	while (!blocks(fx.pid, SIGUSR1) && now_seconds() < until)
		usleep(1000);
	cr_assert(blocks(fx.pid, SIGUSR1), "SIGUSR1 never blocked");
	cr_assert_eq(kill(fx.pid, SIGUSR1), 0);
	client_send(fd, "ce\r\n", 4);
	cr_assert_eq(client_read_all(fd, &reply, WAIT_REPLY_MS), 0);
	assert_reply(&reply, REPLY_ALICE, "-i after a SIGUSR1");
	status = daemon_wait(&fx, WAIT_EXIT_MS);
	cr_assert(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "wait status %#x", status);
	buffer_free(&reply);
	close(fd);
}
