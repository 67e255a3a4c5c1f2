# fingerd: make builds ./fingerd; make check runs every test, also under
# AddressSanitizer and UBSan; make help lists the rest.

CC ?= cc
CFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config

WARNINGS = -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
	-Wpointer-arith -Wcast-qual -Wformat=2
# Kept apart from CFLAGS, which a packager or check-asan may replace.
PROJECT_CFLAGS = -std=c17 -D_GNU_SOURCE -pthread $(WARNINGS)
ALL_CFLAGS = $(PROJECT_CFLAGS) $(CFLAGS)
URING_CFLAGS := $(shell $(PKG_CONFIG) --cflags liburing libcap libseccomp 2>/dev/null)
URING_LIBS := $(shell $(PKG_CONFIG) --libs liburing libcap libseccomp 2>/dev/null || \
	echo -luring -lcap -lseccomp)
CRITERION_LIBS := $(shell $(PKG_CONFIG) --libs criterion 2>/dev/null || echo -lcriterion)

# Pure logic, no system call: the daemon's, the unit tests' and the
# fuzzers' (tests/fuzz).  Then the files that make system calls but know
# nothing of io_uring, also unit-tested.
PURE = errors.c query.c plan.c cache.c timers.c proxy.c turns.c
SUPPORT = log.c members.c addresses.c watches.c mounts.c counters.c homes.c
DAEMON = fingerd.c supervisor.c worker.c client.c reply.c engine.c uring.c \
	epoll.c pool.c privileges.c landlock.c seccomp.c userdb.c $(PURE) \
	$(SUPPORT)
# The tests: tests/unit (one binary, build/unit), tests/system (the real
# daemon, started by tests/harness), tests/tools (what the tests run
# beside it), tests/data (fixtures), tests/fuzz and tests/arm64.
UNIT_TESTS = $(wildcard tests/unit/*.c)
HARNESS = $(B)/tests/harness/harness.o $(B)/tests/harness/daemon.o \
	$(B)/tests/harness/logs.o $(B)/tests/harness/clients.o \
	$(B)/tests/harness/fuse.o $(B)/tests/harness/suite.o

# B is the build directory; check-asan builds a second tree in build-asan.
B ?= build
BIN ?= ./fingerd

all: $(BIN)

help:
	@echo 'make                build ./fingerd'
	@echo 'make check          every test: unit, system (each engine), ASan+UBSan,'
	@echo '                    valgrind, the fuzzers; prints how long it took'
	@echo 'make check-normal   the unit and system tests in a normal build'
	@echo 'make check-shell    the shell suites (tests/system/*.sh), at once'
	@echo 'make check-asan     the same under AddressSanitizer and UBSan'
	@echo 'make check-valgrind the system tests with the daemon under valgrind'
	@echo 'make check-arm64    the exchange and daemon suites in an emulated arm64'
	@echo '                    machine (root; tests/arm64/run)'
	@echo 'make fuzz           the libFuzzer targets, FUZZ_SECONDS each'
	@echo 'make soak           SOAK_SECONDS of mixed clients, reloads and kills'
	@echo 'make pressure       the pressure figures, into bench/results'
	@echo 'make bench          fingerd against the epoll and io_uring ceilings'
	@echo 'make bench-trace    per request: SQEs, poll arms, system calls (tracefs)'
	@echo 'make install        PREFIX, DESTDIR, sbindir, mandir as usual'
	@echo 'make clean          remove what make built'

$(BIN): $(DAEMON:%.c=$(B)/%.o)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(URING_LIBS) $(LDLIBS)

$(B)/%.o: %.c fingerd.h engine.h loop.h uring.h epoll.h timers.h client.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(URING_CFLAGS) -I. -c -o $@ $<

$(B)/tests/%.o: tests/%.c fingerd.h engine.h loop.h uring.h epoll.h timers.h \
	    tests/harness/harness.h tests/unit/rng.h tests/system/soak.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -I. -Itests/harness -Itests/unit \
	    -c -o $@ $<

$(B)/unit: $(UNIT_TESTS:%.c=$(B)/%.o) $(PURE:%.c=$(B)/%.o) \
	    $(SUPPORT:%.c=$(B)/%.o) $(B)/engine.o $(B)/uring.o $(B)/epoll.o $(B)/pool.o \
	    $(B)/landlock.o $(B)/seccomp.o
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CRITERION_LIBS) $(URING_LIBS)

# The system tests run the real daemon: the black-box conformance suite
# (also against another server: FINGERD_HOST, FINGERD_PORT) and the
# lifecycle and hostile cases.
$(B)/exchange: $(B)/tests/system/test_exchange.o $(HARNESS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CRITERION_LIBS)

$(B)/daemon-tests: $(B)/tests/system/test_options.o \
	    $(B)/tests/system/test_clients.o $(B)/tests/system/test_plans.o \
	    $(B)/tests/system/test_logging.o $(B)/tests/system/test_engines.o \
	    $(B)/tests/system/test_inetd.o \
	    $(B)/tests/system/test_process.o $(B)/tests/system/test_counters.o \
	    $(B)/tests/system/test_proxied.o $(HARNESS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CRITERION_LIBS)

# The abuse tests load the machine: one at a time under each engine,
# after the other suites, so that they skew no other suite's timing.
$(B)/abuse-tests: $(B)/tests/system/test_abuse.o \
	    $(B)/tests/system/test_pressure.o $(B)/tests/system/test_hung_homes.o \
	    $(B)/tests/system/test_hung_supervisor.o \
	    $(B)/tests/system/test_log_pressure.o $(HARNESS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CRITERION_LIBS)

# The soak (tests/system/soak.c): mixed clients, reloads and worker kills for
# SOAK_SECONDS; make check runs a minute of it, make soak ten.
$(B)/soak: $(B)/tests/system/soak.o $(B)/tests/system/soak_clients.o \
	    $(B)/tests/system/soak_checks.o $(HARNESS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CRITERION_LIBS)

# The pressure suite's figures (tests/system/test_pressure.c and the hung and
# log pressure files beside it) under each engine,
# into bench/results/pressure.md.
pressure: $(BIN) $(B)/abuse-tests $(B)/slowfs
	printf '%s\n\n%s\n%s\n' '# fingerd under pressure (the pressure suite, tests/system)' \
	    '| figure | engine | measured | bound |' '|---|---|--:|---|' \
	    >bench/results/pressure.md
	set -e; for engine in $(ENGINES); do \
	    $(TEST_ENV) FINGERD=$(BIN) FINGERD_ENGINE=$$engine SLOWFS=$(B)/slowfs \
	    FINGERD_FIGURES=$(CURDIR)/bench/results/pressure.md \
	    $(B)/abuse-tests $(ABUSE_FLAGS) --filter 'pressure/*'; \
	done

SOAK_SECONDS ?= 600
soak: $(BIN) $(B)/soak
	$(TEST_ENV) FINGERD=$(BIN) SOAK_SECONDS=$(SOAK_SECONDS) \
	    SOAK_RESULTS=bench/results/soak.md $(B)/soak --timeout=0

# tests/tools/slowfs.c: a FUSE file system that hangs on demand, for the tests.
FUSE_CFLAGS := $(shell $(PKG_CONFIG) --cflags fuse3 2>/dev/null)
FUSE_LIBS := $(shell $(PKG_CONFIG) --libs fuse3 2>/dev/null || echo -lfuse3)
$(B)/slowfs: tests/tools/slowfs.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FUSE_CFLAGS) -o $@ $< $(FUSE_LIBS)

# The unit tests of members.c read a user database through nss_wrapper.
NSS_WRAPPER = $(firstword $(wildcard /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so))
# Most system tests wait on the network, not the CPU: more jobs than CPUs.
# Each test has a minute at most (check-valgrind gives more).
SYSTEM_FLAGS = --jobs=8 --timeout=60
ABUSE_FLAGS = --jobs=1 --timeout=90
CHECK_SOAK_SECONDS ?= 60
TEST_ENV = ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/tools/lsan.supp \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	NSS_WRAPPER_LIB=$(NSS_WRAPPER)

# The tests that depend on the engine run under each: the exchange, the
# plans' reads, deadlines, eviction, the workers' log writes and the
# pressure on them (exchange, abuse-tests, soak, proxied and most of
# daemon-tests).  ENGINE_FREE names the tests that exercise the same code
# whichever engine carries the bytes, or name their engine with -E
# themselves: the supervisor's lifecycle, options and exit statuses, the
# log's format, SIGUSR1 and the metrics directory, privileges, the survey
# of homes.  They run under the first engine only.  A new test runs under
# each engine until it is named here.  (A Criterion --filter: suite/test, @(a|b) one of.)
ENGINES = io_uring epoll
ENGINE_FREE = counters/@($(call one_of,$(COUNTERS_ENGINE_FREE)))|$\
	process/@($(call one_of,$(PROCESS_ENGINE_FREE)))|$\
	daemon/@($(call one_of,$(DAEMON_ENGINE_FREE)))
# Not the counters' two tests that read the engine's name in the status
# line and the metrics: each engine names itself.
COUNTERS_ENGINE_FREE = sigusr1_kills_neither_supervisor_nor_worker \
	metrics_directory_not_writable
PROCESS_ENGINE_FREE = a_member_added_later_is_served_wherever_her_home_is \
	the_group_is_followed_with_no_signal nofinger_hides_a_member \
	a_worker_takes_no_sighup_for_a_stop a_home_at_slash_is_not_served \
	a_supervisor_killed_leaves_no_worker stdin_closed_at_start \
	stdout_closed_at_start stderr_closed_at_start \
	a_reload_is_announced_once_the_old_generation_listens_no_more
DAEMON_ENGINE_FREE = usage_error_* dual_stack_by_default \
	bind_ipv4_refuses_ipv6 bind_ipv6_refuses_ipv4 sighup_reloads_group log_line_format \
	log_escapes_query log_levels_for_the_journal unknown_group \
	empty_names_refused proxy_prefixes_refused one_member_is_singular \
	unknown_user port_in_use help_and_version \
	engine_falls_back_under_dockers_profile \
	engine_falls_back_under_podmans_profile \
	engine_io_uring_demanded_under_dockers_profile \
	engine_io_uring_demanded_under_podmans_profile \
	engine_named_in_the_log openat2_refused_under_epoll \
	openat2_refused_under_auto openat2_and_io_uring_refused_under_auto \
	engine_unknown privileges_dropped unprivileged_needs_no_capset \
	inetd_log_never_reaches_the_client \
	inetd_logs_to_syslog_when_stderr_is_the_connection \
	inetd_logs_to_another_socket inetd_falls_back_to_epoll \
	a_home_out_of_reach_is_logged_with_its_fix \
	a_home_that_leads_to_slash_is_not_served \
	list_columns_of_long_and_short_logins \
	a_worker_killed_by_its_filter_is_explained \
	log_file_lines_begin_with_their_time syslog_lines_are_datagrams \
	syslog_unreachable_at_start own_events_are_key_value_lines
empty =
space = $(empty) $(empty)
one_of = $(subst $(space),|,$(strip $(1)))
# daemon-tests under the first engine: every test; under the others:
# the tests that depend on the engine.
EVERY_TEST = *
ENGINE_TESTS = !($(ENGINE_FREE))

# The shell suites run once, each in namespaces of its own, at the same
# time: they wait on daemons, proxies, LDAP and a booted systemd more
# than on the CPU.  Each one's output is shown whole once it ends.
SHELL_SUITES = test_ops test_container test_userdb test_haproxy
check-normal: $(BIN) $(B)/unit $(B)/exchange $(B)/daemon-tests \
	    $(B)/abuse-tests $(B)/slowfs $(B)/soak
	$(TEST_ENV) LD_PRELOAD=$(NSS_WRAPPER) \
	    NSS_WRAPPER_PASSWD=tests/data/passwd \
	    NSS_WRAPPER_GROUP=tests/data/group $(B)/unit
	set -e; filter='$(EVERY_TEST)'; for engine in $(ENGINES); do \
	    echo "== the system suites, -E $$engine"; \
	    export FINGERD=$(BIN) FINGERD_ENGINE=$$engine $(TEST_ENV); \
	    $(B)/exchange $(SYSTEM_FLAGS); \
	    $(B)/daemon-tests $(SYSTEM_FLAGS) --filter "$$filter"; \
	    filter='$(ENGINE_TESTS)'; \
	done
	$(ALONGSIDE_ABUSE)export FINGERD=$(BIN) SLOWFS=$(B)/slowfs $(TEST_ENV); \
	    $(call $(if $(ABUSE_AT_ONCE),each_engine_at_once,each_engine_in_turn),$\
	    abuse,$(B)/abuse-tests $(ABUSE_FLAGS))
	set -e; for engine in $(ENGINES); do \
	    echo "== the soak, -E $$engine"; \
	    FINGERD=$(BIN) FINGERD_ENGINE=$$engine $(TEST_ENV) \
	    SOAK_SECONDS=$$(($(CHECK_SOAK_SECONDS) / 2)) $(B)/soak \
	        --timeout=$$(($(CHECK_SOAK_SECONDS) + 120)); \
	done
	$(MAKE) --no-print-directory check-shell

# $(call each_engine_at_once,name,command): the command under each engine
# (FINGERD_ENGINE), all at the same time, each one's output kept in
# $(B)/out/name-engine and shown whole once all have ended.  For the
# abuse and pressure suites: a test there waits on timers, hung file
# systems and stalled logs far more than it computes (abuse-tests, -E
# epoll: 166 s, of which 20 s of CPU), and each test still runs alone
# under its engine (--jobs=1).
each_engine_at_once = mkdir -p $(B)/out; pids=; \
	for engine in $(ENGINES); do \
	    FINGERD_ENGINE=$$engine $(2) >$(B)/out/$(1)-$$engine 2>&1 & \
	    pids="$$pids $$!"; \
	done; \
	status=0; for pid in $$pids; do wait $$pid || status=1; done; \
	for engine in $(ENGINES); do \
	    echo "== $(1), -E $$engine"; cat $(B)/out/$(1)-$$engine; \
	done; \
	[ -z "$$alongside" ] || { wait $$alongside || status=1; \
	    echo "== at the same time: $(ALONGSIDE_ABUSE_WHAT)"; \
	    cat $(B)/out/alongside; }; \
	exit $$status

# The same one engine after the other: make check ABUSE_AT_ONCE= on a
# machine that others load (two flaky latency bounds seen at a load of 10
# to 30 with the engines at once; about 2 minutes longer a build).
ABUSE_AT_ONCE = yes
each_engine_in_turn = status=0; \
	for engine in $(ENGINES); do \
	    echo "== $(1), -E $$engine"; \
	    FINGERD_ENGINE=$$engine $(2) || status=1; \
	done; \
	[ -z "$$alongside" ] || { wait $$alongside || status=1; \
	    echo "== at the same time: $(ALONGSIDE_ABUSE_WHAT)"; \
	    cat $(B)/out/alongside; }; \
	exit $$status

# make check runs the fuzzers (one core, for FUZZ_SECONDS each) while the
# abuse suites wait: ALONGSIDE_ABUSE starts them then, in the background.
ALONGSIDE_ABUSE =
ALONGSIDE_ABUSE_WHAT = make fuzz

# The shell suites (test_systemd.sh with the .deb: not with OPS_DEB=skip).
check-shell: $(BIN)
	@echo "== the shell suites, at the same time, -E $(firstword $(ENGINES))"
	@rm -rf $(B)/shell && mkdir -p $(B)/shell; \
	suites="$(SHELL_SUITES)"; \
	[ "$(OPS_DEB)" = skip ] || suites="$$suites test_systemd"; \
	export FINGERD=$(BIN) FINGERD_ENGINE=$(firstword $(ENGINES)) \
	    FINGERD_OPS_DEB=$(OPS_DEB) $(TEST_ENV); \
	pids=; for suite in $$suites; do \
	    ( start=$$(date +%s); tests/system/$$suite.sh; status=$$?; \
	      echo "$$suite.sh: exit $$status, $$(($$(date +%s) - start)) s"; \
	      exit $$status ) >$(B)/shell/$$suite.out 2>&1 & pids="$$pids $$!"; \
	done; \
	status=0; for pid in $$pids; do wait $$pid || status=1; done; \
	for suite in $$suites; do cat $(B)/shell/$$suite.out; done; \
	exit $$status

# tests/system/test_ops.sh: the real finger client, systemd-socket-activate,
# inetd mode, -w, make install and the Debian package (built once, in
# the normal run).  tests/system/test_container.sh: fingerd with no flag
# in runc under Podman's default seccomp profile, which refuses io_uring.
# tests/system/test_userdb.sh: real user databases, LDAP (slapd, nslcd)
# and libnss-extrausers, in namespaces of its own.
# tests/system/test_haproxy.sh: HAProxy (send-proxy, send-proxy-v2) and
# nginx's stream module (proxy_protocol) in front of fingerd -p, in a
# network namespace.  tests/system/test_systemd.sh: the .deb under a real
# systemd, in a Debian 12 tree booted by systemd-nspawn (the tree cached
# in /var/cache/fingerd-tests); like the .deb of test_ops.sh, in the
# normal run only (not with OPS_DEB=skip).
OPS_DEB ?= build

check-asan:
	$(MAKE) B=build-asan BIN=build-asan/fingerd OPS_DEB=skip CHECK_SOAK_SECONDS=30 \
	    CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	    check-normal

# libFuzzer (clang) on the query parser, the plan filter and the PROXY
# header parser, each for FUZZ_SECONDS (60 by default).
fuzz:
	$(MAKE) -C tests/fuzz run

# The system tests with the daemon under valgrind's memcheck: any error
# or definite leak fails the test that ran it (tests/tools/valgrind-fingerd).
# Memcheck is tens of times slower: every wait and latency bound of the
# tests is scaled, so that a loaded 2-core machine passes too.  The abuse
# suites run one engine after the other here: memcheck makes a flood
# compute, and two at once broke a latency bound (1.5 s for 0.5 s).
VALGRIND_ENV = FINGERD=tests/tools/valgrind-fingerd FINGERD_VALGRIND=1 \
	FINGERD_WAIT_SCALE=5 VALGRIND_LOGS=$(CURDIR)/$(B)/valgrind
VALGRIND_FLAGS = --jobs=2 --timeout=300
check-valgrind: $(BIN) $(B)/exchange $(B)/daemon-tests $(B)/abuse-tests \
	    $(B)/slowfs
	rm -rf $(B)/valgrind && mkdir -p $(B)/valgrind && chmod 1777 $(B)/valgrind
	set -e; filter='$(EVERY_TEST)'; for engine in $(ENGINES); do \
	    echo "== under valgrind, -E $$engine"; \
	    export FINGERD_ENGINE=$$engine $(TEST_ENV) $(VALGRIND_ENV); \
	    $(B)/exchange $(VALGRIND_FLAGS); \
	    $(B)/daemon-tests $(VALGRIND_FLAGS) --filter "$$filter"; \
	    filter='$(ENGINE_TESTS)'; \
	done
	set -e; for engine in $(ENGINES); do \
	    echo "== abuse under valgrind, -E $$engine"; \
	    export FINGERD_ENGINE=$$engine $(TEST_ENV) $(VALGRIND_ENV); \
	    SLOWFS=$(B)/slowfs $(B)/abuse-tests --jobs=1 --timeout=300; \
	done

# Every test, and how long they took in all.
check:
	@start=$$(date +%s); $(MAKE) check-all; status=$$?; \
	    echo "make check: $$(($$(date +%s) - start)) s"; exit $$status

# The fuzzers are built first, then run while the abuse suites wait
# (ALONGSIDE_ABUSE): two during the normal build's (2 minutes of one
# core), the third during the ASan build's.
check-all:
	$(MAKE) -C tests/fuzz all
	$(MAKE) check-normal ALONGSIDE_ABUSE='$(call fuzzing,fuzz_query fuzz_proxy)'
	$(MAKE) check-asan ALONGSIDE_ABUSE='$(call fuzzing,fuzz_plan)'
	$(MAKE) check-valgrind

# $(call fuzzing,fuzzers): ALONGSIDE_ABUSE's command, $(B) the build's.
fuzzing = mkdir -p $$(B)/out; env -u LSAN_OPTIONS $(MAKE) -s -C tests/fuzz \
	run FUZZERS="$(1)" >$$(B)/out/alongside 2>&1 & alongside=$$$$!;

# The exchange and daemon suites, each engine, on arm64: built in a Debian
# arm64 tree and run in qemu-system-aarch64 (TCG), the tree cached in
# ARM64_CACHE (tests/arm64/run).  Not part of check: ./quickstart check
# (CI) runs it after.
check-arm64:
	tests/arm64/run

# The benchmark: fingerd against the epoll and io_uring ceilings (and
# netkit's in.fingerd when installed); see bench/README.
bench: all
	$(MAKE) -C bench
	bench/run

# What each server asks of the kernel per request (SQEs, poll arms, punts,
# task work, system calls), counted with tracefs, as root, into
# bench/results/trace.md; see bench/README.  E.g. TRACEFLAGS=--requests=N
TRACEFLAGS ?=
bench-trace: all
	$(MAKE) -C bench
	bench/trace $(TRACEFLAGS)

clean:
	rm -rf build build-asan fingerd
	$(MAKE) -C tests/fuzz clean

.PHONY: all help bench bench-trace check check-all check-normal check-asan \
	check-shell check-valgrind check-arm64 fuzz clean soak pressure

include install.mk
