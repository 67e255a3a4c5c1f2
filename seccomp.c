/*
 * seccomp (libseccomp): the system calls a worker's loop makes, and no
 * other.  Installed once the worker has its engine, its descriptors and
 * its Landlock domain, so the list holds only what serving takes: the
 * engine's calls, closing, shutting down and resetting sockets, the plan
 * watches, the log's last writes, memory.  Any other call kills the process
 * (SIGSYS, which the supervisor reports and the kernel's audit log names
 * with its number); no mapping can be made executable.
 *
 * With io_uring, the engine's calls are io_uring_enter alone, and the
 * ring itself is restricted to its opcodes (uring.c), where this filter
 * cannot see.  With epoll, they are the calls each request makes, and
 * those of the file requests' threads: clone only for a thread (glibc
 * tries clone3 first, whose flags a filter cannot read: it is told
 * ENOSYS, and falls back to clone).
 *
 * The list is proven complete by the test suites, which run every worker
 * with the filter on: a call missing from it kills the worker and fails
 * the test that made it.  A sanitizer's run-time makes calls of its own
 * (LeakSanitizer stops the world with ptrace at exit): those builds allow
 * them too.  Where the kernel has no seccomp filters (or under valgrind,
 * which does not emulate them), it says so once and goes on, as Landlock
 * does.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <linux/sockios.h>

#include <sched.h>

#include <errno.h>
#include <seccomp.h>
#include <string.h>
#include <sysexits.h>

#include "fingerd.h"

static const int uring_calls[] = {
	SCMP_SYS(io_uring_enter),
};

static const int epoll_calls[] = {
	SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_ctl),
	SCMP_SYS(timerfd_settime),
	SCMP_SYS(accept4),
	SCMP_SYS(sendto),
	SCMP_SYS(fcntl),
	SCMP_SYS(openat2),
	SCMP_SYS(openat),	/* where openat2 is ENOSYS (epoll.c) */
	SCMP_SYS(pread64),
	/* the threads (glibc's first sets its SIGCANCEL handler) */
	SCMP_SYS(rt_sigaction),
	SCMP_SYS(futex),
	SCMP_SYS(set_robust_list),
	SCMP_SYS(rseq),
};

static const int allowed[] = {
	/* the loop */
	SCMP_SYS(close),
	SCMP_SYS(shutdown),
	SCMP_SYS(recvfrom),	/* input left after a long reply (client.c) */
	SCMP_SYS(read),
	SCMP_SYS(write),
	/* the plan watches */
	SCMP_SYS(inotify_add_watch),
	SCMP_SYS(inotify_rm_watch),
	SCMP_SYS(statx),
	SCMP_SYS(statfs),
	SCMP_SYS(readlink),
	SCMP_SYS(newfstatat),
	/* time, memory, signals, the end (and its last log lines) */
	SCMP_SYS(poll),
	SCMP_SYS(ppoll),
	SCMP_SYS(clock_gettime),
	SCMP_SYS(brk),
	SCMP_SYS(munmap),
	SCMP_SYS(mremap),
	SCMP_SYS(madvise),
	SCMP_SYS(rt_sigreturn),
	SCMP_SYS(restart_syscall),	/* a timed wait resumed after SIGCONT */
	SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(getpid),
	SCMP_SYS(exit),
	SCMP_SYS(exit_group),
#if defined(__SANITIZE_ADDRESS__)
	SCMP_SYS(open),
	SCMP_SYS(getdents),
	SCMP_SYS(openat),
	SCMP_SYS(fstat),
	SCMP_SYS(lseek),
	SCMP_SYS(getdents64),
	SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity),
	SCMP_SYS(stat),
	SCMP_SYS(ioctl),
	SCMP_SYS(sigaltstack),
	SCMP_SYS(rt_sigaction),
	SCMP_SYS(prctl),
	SCMP_SYS(clone),
	SCMP_SYS(clone3),
	SCMP_SYS(ptrace),
	SCMP_SYS(wait4),
	SCMP_SYS(gettid),
	SCMP_SYS(futex),
	SCMP_SYS(getppid),
	SCMP_SYS(kill),
	SCMP_SYS(tgkill),
	SCMP_SYS(mprotect),
	SCMP_SYS(getrlimit),
	SCMP_SYS(prlimit64),
	SCMP_SYS(pipe2),
	SCMP_SYS(readlinkat),
	SCMP_SYS(mmap),
#endif
};

static void
allow(scmp_filter_ctx filter, int nr, unsigned count,
    const struct scmp_arg_cmp *arg)
{
	int ret = seccomp_rule_add_array(filter, SCMP_ACT_ALLOW, nr, count, arg);

	if (ret != 0) {
		errno = -ret;
		fatal(EX_OSERR, "seccomp: allowing system call %d", nr);
	}
}

static void
allow_all(scmp_filter_ctx filter, const int *calls, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		allow(filter, calls[i], 0, NULL);
}

#define ALLOW_ALL(filter, calls) \
	allow_all((filter), (calls), sizeof(calls) / sizeof((calls)[0]))

/* Threads, never processes: clone with CLONE_THREAD, clone3 ENOSYS. */
static void
allow_threads(scmp_filter_ctx filter)
{
#if !defined(__SANITIZE_ADDRESS__)
	const struct scmp_arg_cmp thread = SCMP_A0(SCMP_CMP_MASKED_EQ,
	    CLONE_THREAD, CLONE_THREAD);
	int ret;

	allow(filter, SCMP_SYS(clone), 1, &thread);
	if ((ret = seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS),
	    SCMP_SYS(clone3), 0)) != 0) {
		errno = -ret;
		fatal(EX_OSERR, "seccomp: clone3");
	}
#else
	(void)filter;	/* the sanitizer's list has them */
#endif
}

/*
 * The end of a connection (client.c): what of the reply the kernel
 * holds, ioctl SIOCOUTQ; the reset at a deadline, connect to AF_UNSPEC
 * or else setsockopt SO_LINGER.  Those requests only: a connect's
 * address of sizeof(sa_family_t) bytes names none of any family
 * (AF_INET's takes 16, AF_INET6's 24, AF_UNIX's a path too), so it can
 * only dissolve a connection, never make one.
 */
static void
allow_socket_calls(scmp_filter_ctx filter)
{
	const struct scmp_arg_cmp linger[] = {
		SCMP_A1(SCMP_CMP_EQ, SOL_SOCKET),
		SCMP_A2(SCMP_CMP_EQ, SO_LINGER),
	};
	const struct scmp_arg_cmp dissolve = SCMP_A2(SCMP_CMP_EQ,
	    sizeof(sa_family_t));
#if !defined(__SANITIZE_ADDRESS__)
	const struct scmp_arg_cmp outq = SCMP_A1(SCMP_CMP_EQ, SIOCOUTQ);

	allow(filter, SCMP_SYS(ioctl), 1, &outq);
#endif
	allow(filter, SCMP_SYS(setsockopt), 2, linger);
	allow(filter, SCMP_SYS(connect), 1, &dissolve);
}

/*
 * The lists above name the calls glibc makes on x86_64; elsewhere it
 * makes others for the same functions.  A name the architecture has not
 * (epoll_wait, poll, readlink on arm64) is a pseudo-call to libseccomp,
 * whose rule it drops: the lists name them everywhere, and only the
 * replacements are added here.  arm64 has the *at and p* forms alone:
 * epoll_pwait and ppoll are in the lists, readlinkat (readlink's) is
 * not.  The 32-bit architectures call the *_time64 forms first (the old
 * ones are the fallback), fcntl64, statfs64, mmap2 (seccomp_restrict)
 * and, for a handler without SA_SIGINFO, sigreturn.  The 32-bit lists
 * were never run: debian/control does not claim their architectures.
 */
static void
allow_arch(scmp_filter_ctx filter, enum engine_kind engine)
{
#if !defined(__NR_readlink)
	allow(filter, SCMP_SYS(readlinkat), 0, NULL);
#endif
#if !defined(__LP64__)
	static const int calls[] = {
		SCMP_SYS(clock_gettime64),
		SCMP_SYS(ppoll_time64),
		SCMP_SYS(statfs64),
		SCMP_SYS(sigreturn),
	};
	static const int epoll[] = {
		SCMP_SYS(fcntl64),
		SCMP_SYS(timerfd_settime64),
		SCMP_SYS(futex_time64),
	};

	ALLOW_ALL(filter, calls);
	if (engine == ENGINE_EPOLL)
		ALLOW_ALL(filter, epoll);
#endif
	(void)filter;
	(void)engine;
}

void
seccomp_restrict(enum engine_kind engine)
{
	scmp_filter_ctx filter;
	int ret;

	if (seccomp_api_get() < 1 ||
	    (filter = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		log_warnx("seccomp filters are not available: the system calls "
		    "are not restricted");
		return;
	}
	ALLOW_ALL(filter, allowed);
	if (engine == ENGINE_EPOLL) {
		ALLOW_ALL(filter, epoll_calls);
		allow_threads(filter);
	} else {
		ALLOW_ALL(filter, uring_calls);
	}
	allow_socket_calls(filter);
	allow_arch(filter, engine);
#if !defined(__SANITIZE_ADDRESS__)
	{
		/* mmap and mprotect only without PROT_EXEC. */
		const struct scmp_arg_cmp no_exec = SCMP_A2(
		    SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);

		allow(filter, SCMP_SYS(mmap), 1, &no_exec);
#if !defined(__LP64__)
		allow(filter, SCMP_SYS(mmap2), 1, &no_exec);
#endif
		allow(filter, SCMP_SYS(mprotect), 1, &no_exec);
	}
#endif
	if ((ret = seccomp_load(filter)) != 0) {
		errno = -ret;
		fatal(EX_OSERR, "seccomp: loading the filter");
	}
	seccomp_release(filter);
}
