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
SUPPORT = log.c members.c addresses.c watches.c mounts.c counters.c homes.c \
	metrics.c
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
	@echo '                    valgrind, the fuzzers; prints how long each phase'
	@echo '                    took and the total'
	@echo 'make check-normal   the unit and system tests in a normal build'
	@echo 'make check-PHASE    one phase: unit, system, abuse, soak, shell,'
	@echo '                    valgrind-system (valgrind-exchange, then'
	@echo '                    valgrind-daemon), valgrind-abuse'
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
	@echo 'make bench-instructions  per request: user-space instructions by function'
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
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CRITERION_LIBS) $(URING_LIBS)

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
pressure: $(BIN) $(B)/abuse-tests $(B)/slowfs $(B)/slowstart.so
	printf '%s\n\n%s\n%s\n' '# fingerd under pressure (the pressure suite, tests/system)' \
	    '| figure | engine | measured | bound |' '|---|---|--:|---|' \
	    >bench/results/pressure.md
	set -e; for engine in $(ENGINES); do \
	    $(TEST_ENV) FINGERD=$(BIN) FINGERD_ENGINE=$$engine SLOWFS=$(B)/slowfs \
	    SLOWSTART=$(CURDIR)/$(B)/slowstart.so \
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

# tests/tools/slowstart.c: a library that holds a worker as it starts.  No
# sanitizer: it is preloaded into a daemon built with or without one.
$(B)/slowstart.so: tests/tools/slowstart.c
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -O2 -Wall -Wextra -shared -fPIC -o $@ $<

# The unit tests of members.c read a user database through nss_wrapper.
NSS_WRAPPER = $(firstword $(wildcard /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so))
# Most system tests wait on the network, not the CPU: more jobs than CPUs.
# Each test has a minute at most (check-valgrind gives more).
SYSTEM_FLAGS = --jobs=8 --timeout=60
ABUSE_FLAGS = --jobs=1 --timeout=90
CHECK_SOAK_SECONDS ?= 60
TEST_ENV = ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	NSS_WRAPPER_LIB=$(NSS_WRAPPER)

# The tests that depend on the engine run under each: the exchange, the
# plans' reads, deadlines, eviction, the workers' log writes and the
# pressure on them (exchange, abuse-tests, soak, proxied and most of
# daemon-tests).  ENGINE_FREE names the tests that exercise the same code
# whichever engine carries the bytes, or name their engine with -E
# themselves: the supervisor's lifecycle, options and exit statuses, the
# log's format, SIGUSR1 and the metrics directory, privileges, the survey
# of homes and what the supervisor does when one hangs.  They run under
# one engine only, and make check runs them once (see ONCE): under the
# first (FIRST_FREE), or, those in LAST_FREE, under the other, so that
# the two engines' abuse suites, which run at once, take as long.  A
# new test runs under each engine until it is named here.  (A Criterion
# --filter: suite/test, @(a|b) one of.)
ENGINES = io_uring epoll
ENGINE_FREE = $(FIRST_FREE)|$(LAST_FREE)
FIRST_FREE = counters/@($(call one_of,$(COUNTERS_ENGINE_FREE)))|$\
	process/@($(call one_of,$(PROCESS_ENGINE_FREE)))|$\
	daemon/@($(call one_of,$(DAEMON_ENGINE_FREE)))|$\
	pressure/@($(call one_of,$(PRESSURE_ENGINE_FREE)))
# Under the other engine (LAST_FREE), 34 of the 71 s the pressure
# suite's ENGINE_FREE tests take (--jobs=1, alone), for the two engines'
# abuse suites to end together: 130 s each (at 4ebf84a, with only the
# first of these there, 174 and 135 s).
LAST_FREE = pressure/@($(call one_of,$(PRESSURE_LAST_FREE)))
PRESSURE_LAST_FREE = a_fuse_home_that_hangs_piles_up_no_children \
	a_home_every_worker_misses_gets_one_generation_more \
	a_miss_a_new_generation_made_stale_forces_none \
	signals_while_the_group_is_read_at_the_start \
	a_metrics_directory_that_hangs_holds_no_supervisor \
	a_metrics_directory_hung_at_the_start_holds_no_start \
	a_user_database_that_hangs_holds_no_supervisor \
	a_worker_signalled_as_it_starts_acts_once_it_serves \
	a_user_database_that_hangs_at_the_start_is_said \
	a_stop_while_the_start_waits_for_the_user_database \
	inetd_while_the_user_database_hangs_ends_at_its_deadline
# Not the counters' two tests that read the engine's name in the status
# line and the metrics: each engine names itself.
COUNTERS_ENGINE_FREE = sigusr1_kills_neither_supervisor_nor_worker \
	metrics_directory_not_writable
PROCESS_ENGINE_FREE = a_member_added_later_is_served_wherever_her_home_is \
	the_group_is_followed_with_no_signal nofinger_hides_a_member \
	a_worker_takes_no_sighup_for_a_stop a_home_at_slash_is_not_served \
	a_supervisor_killed_leaves_no_worker stdin_closed_at_start \
	a_home_at_slash_is_not_served_without_landlock \
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
	engine_refused_where_proc_sys_is_hidden_names_both_causes \
	engine_refused_with_enosys_where_proc_sys_is_hidden \
	engine_refused_with_enosys_where_the_sysctl_is_absent \
	engine_named_in_the_log openat2_refused_under_epoll \
	openat2_refused_under_auto openat2_and_io_uring_refused_under_auto \
	engine_unknown privileges_dropped unprivileged_needs_no_capset \
	inetd_log_never_reaches_the_client \
	inetd_logs_to_syslog_when_stderr_is_the_connection \
	inetd_logs_to_another_socket inetd_falls_back_to_epoll \
	inetd_takes_no_sigusr1 \
	a_home_out_of_reach_is_logged_with_its_fix \
	a_home_beneath_a_closed_directory_is_logged_with_its_fix \
	a_home_that_leads_to_slash_is_not_served \
	list_columns_of_long_and_short_logins \
	a_worker_killed_by_its_filter_is_explained \
	log_file_lines_begin_with_their_time syslog_lines_are_datagrams \
	syslog_unreachable_at_start syslog_start_failure_is_said_on_stderr_too \
	own_events_are_key_value_lines
# The supervisor's survey of homes and its children that look at them
# (homes.c, supervisor.c): what they assert happens before a worker's
# engine reads a byte of a plan (zoe's "No Plan." is the survey's, not
# a read's).  All skip under valgrind.
PRESSURE_ENGINE_FREE = a_home_hung_before_the_start_holds_no_worker \
	inetd_with_a_hung_home_answers_within_its_deadline \
	a_home_linked_into_a_hung_mount_holds_no_supervisor \
	a_hung_home_that_answers_is_served_from_then \
	a_home_on_fuse_hides_its_member_within_two_seconds \
	a_home_made_after_the_start_is_served \
	a_home_whose_descriptor_finds_no_room_is_logged \
	a_miss_while_a_reload_is_due_forces_it \
	a_hung_home_that_answers_while_a_miss_is_due_is_tried \
	a_miss_in_a_generation_a_change_started_forces_one \
	a_miss_while_the_group_cannot_be_read_is_retried \
	a_plan_on_a_file_system_that_hangs_holds_no_survey
empty =
space = $(empty) $(empty)
one_of = $(subst $(space),|,$(strip $(1)))
# Under each engine, the tests that depend on the engine; if ONCE, also
# the first engine's ENGINE_FREE tests (FIRST_FREE) under the first, and
# the others' (LAST_FREE) under the other.
ENGINE_TESTS = !($(ENGINE_FREE))
FIRST_ENGINE_TESTS = $(if $(ONCE),!($(LAST_FREE)),$(ENGINE_TESTS))
OTHER_ENGINE_TESTS = $(if $(ONCE),!($(FIRST_FREE)),$(ENGINE_TESTS))

# ONCE: whether this run also runs what does not depend on the engine
# nor on a sanitizer or valgrind: the tests in ENGINE_FREE (under one
# engine) and the shell suites.  check-normal, check-asan and
# check-valgrind alone run them; make check runs them once in all, in
# its normal build: the one whose workers run under the seccomp filter
# and Landlock rules fingerd ships with (a sanitizer's build allows
# calls of its own, valgrind runs no filter), and the one the .deb and
# the shell suites need.  The unit tests run in both builds: some of
# their assertions hold without a sanitizer only (test_sandbox.c,
# test_members.c).
ONCE = yes

# A run of the tests, in phases (make check-PHASE), each timed by
# tests/tools/timed: wall and CPU, shown as it ends and in make check's
# summary.
check-normal:
	$(call phase,build)
	$(if $(UNIT_PHASE),$(call phase,unit))
	$(call phase,system)
	$(call phase,abuse)
	$(call phase,soak)
	$(if $(ONCE),$(call phase,shell))

# $(call phase,name): make check-name, timed.
phase = @CHECK_TIMES='$(CHECK_TIMES)' tests/tools/timed '$(B): $(1)' \
	$(MAKE) --no-print-directory check-$(1)
CHECK_TIMES =

# A sanitizer's reports (an ASan build's) each in a file of $(B)/lsan,
# shown and failing the run: Criterion reports a test passed before its
# process exits, and ignores the status LeakSanitizer gives that exit
# (Criterion's issue 220), so a leak in a unit test passed unseen.
check-unit: $(B)/unit
	@rm -rf $(B)/lsan && mkdir -p $(B)/lsan
	$(TEST_ENV) LSAN_OPTIONS=log_path=$(abspath $(B))/lsan/unit \
	    LD_PRELOAD=$(NSS_WRAPPER) NSS_WRAPPER_PASSWD=tests/data/passwd \
	    NSS_WRAPPER_GROUP=tests/data/group $(B)/unit; status=$$?; \
	for report in $(B)/lsan/unit.*; do [ -e "$$report" ] || continue; \
	    cat "$$report"; status=1; done; exit $$status

check-system: $(BIN) $(B)/exchange $(B)/daemon-tests
	set -e; filter='$(FIRST_ENGINE_TESTS)'; for engine in $(ENGINES); do \
	    echo "== the system suites, -E $$engine"; \
	    export FINGERD=$(BIN) FINGERD_ENGINE=$$engine $(TEST_ENV); \
	    $(B)/exchange $(SYSTEM_FLAGS); \
	    $(B)/daemon-tests $(SYSTEM_FLAGS) --filter "$$filter"; \
	    filter='$(OTHER_ENGINE_TESTS)'; \
	done

check-abuse: $(BIN) $(B)/abuse-tests $(B)/slowfs $(B)/slowstart.so
	$(if $(ALONGSIDE_ABUSE),mkdir -p $(B)/out; $(MAKE) --no-print-directory \
	    $(ALONGSIDE_ABUSE) >$(B)/out/alongside 2>&1 & alongside=$$!;) \
	export FINGERD=$(BIN) SLOWFS=$(B)/slowfs \
	    SLOWSTART=$(CURDIR)/$(B)/slowstart.so $(TEST_ENV); \
	    $(call $(if $(ABUSE_AT_ONCE),each_engine_at_once,each_engine_in_turn),$\
	    abuse,$(B)/abuse-tests $(ABUSE_FLAGS))

# The soak under each engine in turn, for CHECK_SOAK_SECONDS in all
# (at the same time, silent clients were once cut before -t, unlogged).
check-soak: $(BIN) $(B)/soak
	@export FINGERD=$(BIN) $(TEST_ENV); $(call each_engine_in_turn,soak,$\
	    SOAK_SECONDS=$$(($(CHECK_SOAK_SECONDS) / 2)) $(B)/soak \
	    --timeout=$$(($(CHECK_SOAK_SECONDS) + 120)))

# $(call each_engine_at_once,name,command): the command under each engine
# (FINGERD_ENGINE; under the first, FIRST_ENGINE_TESTS, under the other
# OTHER_ENGINE_TESTS), all at the same time, each one's output kept in
# $(B)/out/name-engine and shown whole once all have ended.  For the
# abuse and pressure suites: a test there waits on timers, hung file
# systems and stalled logs far more than it computes (abuse-tests, -E
# epoll: 135 s, of which 18 s of CPU), and each test still runs alone
# under its engine (--jobs=1).
each_engine_at_once = mkdir -p $(B)/out; pids=; filter='$(FIRST_ENGINE_TESTS)'; \
	for engine in $(ENGINES); do \
	    FINGERD_ENGINE=$$engine $(2) --filter "$$filter" \
	        >$(B)/out/$(1)-$$engine 2>&1 & \
	    pids="$$pids $$!"; filter='$(OTHER_ENGINE_TESTS)'; \
	done; \
	status=0; for pid in $$pids; do wait $$pid || status=1; done; \
	for engine in $(ENGINES); do \
	    echo "== $(1), -E $$engine"; cat $(B)/out/$(1)-$$engine; \
	done; \
	$(alongside_ended)

# The same one engine after the other: make check ABUSE_AT_ONCE= on a
# machine that others load (two flaky latency bounds seen at a load of 10
# to 30 with the engines at once; about 2 minutes longer a build).
ABUSE_AT_ONCE = yes
each_engine_in_turn = status=0; filter='$(FIRST_ENGINE_TESTS)'; \
	for engine in $(ENGINES); do \
	    echo "== $(1), -E $$engine"; \
	    FINGERD_ENGINE=$$engine $(2) --filter "$$filter" || status=1; \
	    filter='$(OTHER_ENGINE_TESTS)'; \
	done; \
	$(alongside_ended)
alongside_ended = [ -z "$$alongside" ] || { wait $$alongside || status=1; \
	    echo "== at the same time: $(ALONGSIDE_ABUSE_WHAT)"; \
	    cat $(B)/out/alongside; }; \
	exit $$status

# UNIT_PHASE: whether check-normal runs the unit tests (make check runs
# the ASan build's beside the normal build's abuse suites).
UNIT_PHASE = yes

# ALONGSIDE_ABUSE: a target make check runs beside the abuse suites,
# in the background, while they wait (check-beside-*).
ALONGSIDE_ABUSE =
ALONGSIDE_ABUSE_WHAT = $(ALONGSIDE_ABUSE)

# The shell suites run once, each in namespaces of its own, at the same
# time: they wait on daemons, proxies, LDAP and a booted systemd more
# than on the CPU.  Each one's output is shown whole once it ends.
# (test_systemd.sh with the .deb: not with OPS_DEB=skip.)
SHELL_SUITES = test_ops test_container test_userdb test_haproxy
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

# The ASan+UBSan build, in build-asan (a soak of half a minute).  Its
# processes are two to three times slower, and its abuse suites run under
# both engines at once beside valgrind's daemon suite: its waits and
# latency bounds are doubled (FINGERD_WAIT_SCALE), as valgrind's are
# scaled by five; the normal build keeps them as they are.  (Unscaled,
# abuse/forty_workers_within_sixty_descriptors, 40 ASan workers an
# engine at once, missed its bounds in two CI runs of three, before and
# after the same change; thousand_held_connections once.)
ASAN_SOAK_SECONDS = 30
ASAN = B=build-asan BIN=build-asan/fingerd OPS_DEB=skip \
	CHECK_SOAK_SECONDS=$(ASAN_SOAK_SECONDS) FINGERD_WAIT_SCALE=2 \
	CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
check-asan:
	$(MAKE) $(ASAN) check-normal

# What a run of the tests needs built, built with every CPU.
check-build:
	$(MAKE) -j$$(nproc) $(BIN) $(B)/unit $(B)/exchange $(B)/daemon-tests \
	    $(B)/abuse-tests $(B)/slowfs $(B)/slowstart.so $(B)/soak

# libFuzzer (clang) on the query parser, the plan filter and the PROXY
# header parser, each for FUZZ_SECONDS (60 by default).
fuzz:
	$(MAKE) -C tests/fuzz run

# The system tests with the daemon under valgrind's memcheck: any error
# or definite leak fails the test that ran it (tests/tools/valgrind-fingerd).
# Memcheck is tens of times slower: every wait and latency bound of the
# tests is scaled, so that a loaded 2-core machine passes too.  The
# system suites wait more than they compute even so: four at a time
# (alone 144 s, two at a time 175 s; beside the ASan abuse suites,
# daemon-tests took 209 s four at a time, 247 s six at a time).
VALGRIND_ENV = FINGERD=tests/tools/valgrind-fingerd FINGERD_VALGRIND=1 \
	FINGERD_WAIT_SCALE=5 VALGRIND_LOGS=$(CURDIR)/$(B)/valgrind
VALGRIND_FLAGS = --jobs=4 --timeout=300
check-valgrind: $(BIN) $(B)/exchange $(B)/daemon-tests $(B)/abuse-tests \
	    $(B)/slowfs $(B)/slowstart.so
	rm -rf $(B)/valgrind && mkdir -p $(B)/valgrind && chmod 1777 $(B)/valgrind
	$(call phase,valgrind-system)
	$(call phase,valgrind-abuse)

check-valgrind-system:
	$(MAKE) --no-print-directory check-valgrind-exchange
	$(MAKE) --no-print-directory check-valgrind-daemon

# The system suites under valgrind, in two parts that make check runs
# beside different phases: the exchange, each engine; daemon-tests.
check-valgrind-exchange: $(BIN) $(B)/exchange
	mkdir -p $(B)/valgrind && chmod 1777 $(B)/valgrind
	set -e; for engine in $(ENGINES); do \
	    echo "== the exchange under valgrind, -E $$engine"; \
	    export FINGERD_ENGINE=$$engine $(TEST_ENV) $(VALGRIND_ENV); \
	    $(B)/exchange $(VALGRIND_FLAGS); \
	done

check-valgrind-daemon: $(BIN) $(B)/daemon-tests
	mkdir -p $(B)/valgrind && chmod 1777 $(B)/valgrind
	set -e; filter='$(FIRST_ENGINE_TESTS)'; for engine in $(ENGINES); do \
	    echo "== daemon-tests under valgrind, -E $$engine"; \
	    export FINGERD_ENGINE=$$engine $(TEST_ENV) $(VALGRIND_ENV); \
	    $(B)/daemon-tests $(VALGRIND_FLAGS) --filter "$$filter"; \
	    filter='$(OTHER_ENGINE_TESTS)'; \
	done

# The abuse suites under valgrind, the engines at once as in the other
# builds (ABUSE_AT_ONCE= one after the other).  Memcheck makes a flood
# compute: while one test made 50 reloads, each starting two workers
# under memcheck (110 s of the io_uring suite's 266), two at once broke
# a latency bound (1.5 s for 0.5 s), and so did that test beside the
# others even at nice 19 (pressure/a_thousand_silent_connections_from_
# many_addresses: p99 1.67 s for 0.5 s).  Under valgrind it makes 10:
# the two at once take 138 to 144 s (one after the other, 216 s).
check-valgrind-abuse: $(BIN) $(B)/abuse-tests $(B)/slowfs $(B)/slowstart.so
	mkdir -p $(B)/valgrind && chmod 1777 $(B)/valgrind
	@export $(TEST_ENV) $(VALGRIND_ENV) SLOWFS=$(B)/slowfs \
	    SLOWSTART=$(CURDIR)/$(B)/slowstart.so; \
	    $(call $(if $(ABUSE_AT_ONCE),each_engine_at_once,each_engine_in_turn),$\
	    valgrind-abuse,$(B)/abuse-tests --jobs=1 --timeout=300)

# Every test, how long they took in all and each phase; on a failure,
# the failed tests and checks again at the end, where a CI shows its
# output's tail (all of it is in build/check.log).
check:
	@mkdir -p build; : >build/check-times; rm -f build/check-status; \
	    start=$$(date +%s); \
	    { $(MAKE) check-all CHECK_TIMES=$(CURDIR)/build/check-times; \
	    echo $$? >build/check-status; } 2>&1 | tee build/check.log; \
	    status=$$(cat build/check-status 2>/dev/null); \
	    echo "== make check's phases:"; cat build/check-times; \
	    [ "$$status" = 0 ] || { status=2; echo "== what failed:"; \
	    grep -E "$$check_failed" build/check.log | tail -n 24; }; \
	    echo "make check: $$(($$(date +%s) - start)) s"; exit $$status
# What make check says again at its end: Criterion's failed tests, their
# checks' places and messages, a test that crashed in its set-up, a
# sanitizer's report, a fuzzer's failure, a shell suite's failed check.
export check_failed = \[FAIL\]|\[----\] .*:[0-9]+: |\[----\]   +[^ ]|$\
	Warning! The test|ERROR: [A-Za-z]+Sanitizer|runtime error: |$\
	: FAILED, see|^FAIL - 

# What make check runs, in this order (HACKING, "Tests", says why and
# how long each takes):
# - the normal build: the unit tests, the system suites (ENGINE_FREE
#   too: ONCE), the abuse suites, the soak, the shell suites;
# - the ASan+UBSan build: the unit tests (beside the normal build's
#   abuse suites), the engine-dependent system suites, abuse suites
#   and soak;
# - valgrind: the engine-dependent system and abuse suites.
# What only computes or hardly waits on time runs beside the abuse
# suites, which wait far more than they compute, at the lowest priority
# (nice 19), so that it takes only the CPU they leave: the ASan tree,
# its unit tests, two fuzzers and the exchange under valgrind beside
# the normal build's (check-beside-normal); the third fuzzer and
# daemon-tests under valgrind beside the ASan build's
# (check-beside-asan).  On a machine that others load, make check
# ABUSE_AT_ONCE= runs the engines' abuse suites one after the other and
# valgrind's system suites in a phase of their own.
check-all:
	rm -rf build/valgrind
	$(MAKE) check-normal ONCE=yes ALONGSIDE_ABUSE=check-beside-normal \
	    BESIDE_VALGRIND=$(ABUSE_AT_ONCE)
	$(MAKE) check-asan ONCE= UNIT_PHASE= ALONGSIDE_ABUSE=check-beside-asan \
	    BESIDE_VALGRIND=$(ABUSE_AT_ONCE)
	$(if $(ABUSE_AT_ONCE),,$(call timed,build: valgrind-system,$\
	    $(MAKE) --no-print-directory ONCE= check-valgrind-system))
	$(call timed,build: valgrind-abuse,$\
	    $(MAKE) --no-print-directory ONCE= check-valgrind-abuse)

# $(call timed,what,command): the command, timed.
timed = @CHECK_TIMES='$(CHECK_TIMES)' tests/tools/timed '$(1)' $(2)
# $(call nice_timed,what,command): the same at the lowest priority.
nice_timed = CHECK_TIMES='$(CHECK_TIMES)' tests/tools/timed '$(1)' nice -n 19 $(2)

# Beside the normal build's abuse suites (which take less than half a
# core of the two): the ASan tree built and its unit tests run, the
# fuzzers built and two of them run at once (each its minute, on what
# CPU the others leave), and the exchange under valgrind.
check-beside-normal:
	@$(call nice_timed,build-asan: build$(comma) unit (beside),$\
	    sh -c '$(MAKE) --no-print-directory $(ASAN) check-build && \
	    $(MAKE) --no-print-directory $(ASAN) check-unit') & asan=$$!; \
	$(if $(BESIDE_VALGRIND),$(call beside_valgrind,exchange) & grind=$$!;) \
	$(call nice_timed,fuzzers: build$(comma) query$(comma) proxy (beside),$\
	    sh -c '$(MAKE) -C tests/fuzz all && { \
	    $(fuzz_run) FUZZERS=fuzz_query & \
	    $(fuzz_run) FUZZERS=fuzz_proxy; s=$$?; wait $$! && exit $$s; }'); \
	status=$$?; wait $$asan || status=1; \
	$(if $(BESIDE_VALGRIND),wait $$grind || status=1;) exit $$status

# Beside the ASan build's: the third fuzzer, and daemon-tests under
# valgrind (CPU more than waits: memcheck starts each daemon).
check-beside-asan:
	@$(call nice_timed,fuzzers: plan (beside),$(fuzz_run) FUZZERS=fuzz_plan) & \
	status=0; $(if $(BESIDE_VALGRIND),$(call beside_valgrind,daemon) || status=1;) \
	wait $$! || status=1; exit $$status

# $(call beside_valgrind,exchange|daemon): that part of valgrind's system
# suites, at nice 19, in the normal build (a make of its own: none of
# the calling one's B, BIN, CFLAGS, which its command line set and so
# exported), its output kept apart and shown whole once it ends.
# BESIDE_VALGRIND empty: none (make check ABUSE_AT_ONCE= runs them in a
# phase of their own).
BESIDE_VALGRIND = yes
beside_valgrind = { $(call nice_timed,build: valgrind-$(1) (beside),$\
	env -u MAKEFLAGS -u MFLAGS -u B -u BIN -u CFLAGS $\
	$(MAKE) --no-print-directory ONCE= check-valgrind-$(1)) $\
	>$(B)/out/valgrind-$(1) 2>&1; s=$$?; cat $(B)/out/valgrind-$(1); $\
	exit $$s; }

fuzz_run = env -u LSAN_OPTIONS $(MAKE) -s -C tests/fuzz run
comma = ,

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

# The user-space instructions a request costs in fingerd's worker, by
# function, counted under valgrind's callgrind, as root, into
# bench/results/instructions.md; see bench/README.
# E.g. INSTRUCTIONSFLAGS='--servers fingerd,uring'
INSTRUCTIONSFLAGS ?=
bench-instructions: all
	$(MAKE) -C bench
	bench/instructions $(INSTRUCTIONSFLAGS)

clean:
	rm -rf build build-asan fingerd
	$(MAKE) -C tests/fuzz clean

.PHONY: all help bench bench-trace bench-instructions check check-all \
	check-normal check-asan check-shell check-valgrind check-arm64 fuzz clean soak pressure \
	check-unit check-system check-abuse check-soak check-build \
	check-valgrind-system check-valgrind-exchange check-valgrind-daemon \
	check-valgrind-abuse

include install.mk
