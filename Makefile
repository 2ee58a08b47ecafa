# spanalloc — see README.md.
#
#   make                 build/libspanalloc.so and build/libspanalloc.a
#   make test            everything CI checks (unit tests, heap-bug tests,
#                        real programs under LD_PRELOAD, generated tables)
#   make demo            a real program under spanalloc, with its stats
#   make fuzz | fuzz-afl | fuzz-replay | corpus-min | fuzz-coverage | fuzz-planted
#   make fuzz-compare    real fuzz targets, planted bugs, five heap checkers (bench/fuzz-compare.sh)
#   make bench [QUICK=1] the benchmark suite against the peers
#   make bench-debug     debug build vs production vs valgrind memcheck
#   make bench-mimalloc MBENCH=DIR   daanx/mimalloc-bench (a checkout in DIR) against the peers
#   make detect HMALLOC=DIR MBENCH=DIR   heap-bug detection on hardened_malloc's
#                        tests and mimalloc-bench's security suite (bench/detect/)
#   make install PREFIX=/usr/local

CC      ?= cc
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
BINDIR  ?= $(PREFIX)/bin
DOCDIR  ?= $(PREFIX)/share/doc/spanalloc
B       := build

WARN    := -Wall -Wextra -Werror -Wundef -Wshadow -Wstrict-prototypes -Wmissing-prototypes
OPT     ?= -O2 -g
# popcnt: every x86-64 CPU since 2008; spans are swept with it.
ARCHFLAGS ?= $(if $(filter x86_64%,$(shell $(CC) -dumpmachine)),-mpopcnt)
LIBFLAGS := -std=gnu11 $(OPT) $(ARCHFLAGS) $(WARN) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	    -fno-semantic-interposition -fno-builtin-malloc -fno-builtin-calloc \
	    -fno-builtin-realloc -fno-builtin-free -Iinclude -Isrc $(CFLAGS)

SRCS := os.c fixalloc.c arena.c heap.c span.c central.c cache.c tiny.c large.c \
	malloc.c options.c report.c stats.c init.c sizeclasses.c symbolize.c cxx.c
OBJS := $(SRCS:%.c=$(B)/obj/%.o)

.PHONY: all test unit-tests bug-tests cxx-tests valgrind-tests asan-tests program-tests leak-tests fuzzuse-tests fuzz-compare install-tests mutants tsan-tests format-check lint check-sizeclasses check-clang sizeclasses \
	demo bench bench-debug bench-mimalloc install uninstall clean fuzz fuzz-afl fuzz-replay corpus-min fuzz-coverage fuzz-planted

# The debug build: the same sources with SA_DEBUG, plus src/debug/.
DEBUG_SRCS := $(SRCS) debug/debug.c debug/guard.c debug/guarded.c debug/stack.c debug/leak.c debug/sanitizer.c debug/lockrank.c
DEBUG_OBJS := $(DEBUG_SRCS:%.c=$(B)/obj-debug/%.o)
DEBUGFLAGS := -DSA_DEBUG -fno-omit-frame-pointer

all: $(B)/libspanalloc.so $(B)/libspanalloc.a $(B)/libspanalloc-debug.so $(B)/libspanalloc-debug.a

# spanalloc's code goes into a section of its own, sa_text, in the .so and
# in a program linked with the .a, so that reports cut its frames
# (internal.h, report.c).
OBJCOPY ?= objcopy
SA_TEXT := $(foreach s,.text .text.unlikely .text.hot .text.startup .text.exit,--rename-section $(s)=sa_text)

# Each object depends on the headers it includes (-MMD writes them to its
# .d file; -MP keeps a removed header from breaking the build).  An object
# without its .d (built before there were any) is rebuilt: the .d files are
# targets with no recipe, and the touch keeps the object newer than its .d.
DEPFLAGS := -MMD -MP

$(B)/obj/%.o: src/%.c $(B)/obj/%.d | $(B)/obj
	@echo "  CC $<"; $(CC) $(LIBFLAGS) $(DEPFLAGS) -c $< -o $@ && $(OBJCOPY) $(SA_TEXT) $@ && touch $@

$(B)/obj-debug/%.o: src/%.c $(B)/obj-debug/%.d | $(B)/obj-debug
	@echo "  CC $< (debug)"; $(CC) $(LIBFLAGS) $(DEBUGFLAGS) $(DEPFLAGS) -c $< -o $@ && $(OBJCOPY) $(SA_TEXT) $@ && touch $@

# C++ exceptions (std::bad_alloc, a throwing new-handler) unwind through the operators.
$(B)/obj/cxx.o $(B)/obj-debug/cxx.o: LIBFLAGS += -fexceptions

$(B)/obj $(B)/obj-debug:
	mkdir -p $@ $@/debug

$(B)/libspanalloc.so: $(OBJS)
	$(CC) -shared -Wl,-soname,libspanalloc.so -Wl,-z,nodelete -o $@ $(OBJS) -lpthread $(LDFLAGS)

$(B)/libspanalloc.a: $(OBJS)
	rm -f $@
	ar rcs $@ $(OBJS)

$(B)/libspanalloc-debug.so: $(DEBUG_OBJS)
	$(CC) -shared -Wl,-soname,libspanalloc-debug.so -Wl,-z,nodelete -o $@ $(DEBUG_OBJS) -lpthread $(LDFLAGS)

$(B)/libspanalloc-debug.a: $(DEBUG_OBJS)
	rm -f $@
	ar rcs $@ $(DEBUG_OBJS)

# ---- size classes (generated; CI regenerates and diffs) --------------------

$(B)/mksizeclasses: tools/mksizeclasses.c | $(B)/obj
	$(CC) -std=gnu11 -O2 $(WARN) -o $@ $<

sizeclasses: $(B)/mksizeclasses
	$(B)/mksizeclasses -o src/sizeclasses.c

check-sizeclasses: $(B)/mksizeclasses
	$(B)/mksizeclasses -o $(B)/sizeclasses.c
	diff -u src/sizeclasses.c $(B)/sizeclasses.c

# ---- tests -------------------------------------------------------------------

TESTS := $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/test_*.c))
TESTFLAGS := -std=gnu11 -O1 -g $(WARN) -Wno-missing-prototypes -Iinclude -Isrc -pthread $(CFLAGS)

$(B)/tests/%: tests/%.c $(B)/libspanalloc.a $(B)/tests/%.d
	@mkdir -p $(B)/tests
	$(CC) $(TESTFLAGS) $(DEPFLAGS) -o $@ $< $(B)/libspanalloc.a -lcriterion -pthread && touch $@

# The same tests against the debug build (-DSA_DEBUG tells a test what it links).
DEBUG_TESTS := $(patsubst tests/%.c,$(B)/tests-debug/%,$(wildcard tests/test_*.c))

$(B)/tests-debug/%: tests/%.c $(B)/libspanalloc-debug.a $(B)/tests-debug/%.d
	@mkdir -p $(B)/tests-debug
	$(CC) $(TESTFLAGS) $(DEPFLAGS) -DSA_DEBUG -o $@ $< $(B)/libspanalloc-debug.a -lcriterion -pthread && touch $@

# (the debug build checks the runners for leaks at exit: Criterion's own are suppressed)
unit-tests: $(TESTS) $(DEBUG_TESTS)
	@set -e; for t in $(TESTS); do echo "== $$t"; $$t --jobs 2; done; \
	for t in $(DEBUG_TESTS); do echo "== $$t"; \
		SPANALLOC_OPTIONS=suppressions=$(CURDIR)/tests/criterion.supp $$t --jobs 2; done

bug-tests: all
	bash tests/bugs/run.sh $(B)/libspanalloc.so
	bash tests/bugs/run.sh $(B)/libspanalloc.a
	bash tests/bugs/run.sh $(B)/libspanalloc-debug.so
	bash tests/bugs/run.sh $(B)/libspanalloc-debug.a

# C++ programs through the operators (needs a C++ compiler, as CI has).
cxx-tests: all
	bash tests/cxx/run.sh $(B)/libspanalloc.so
	bash tests/cxx/run.sh $(B)/libspanalloc.a
	bash tests/cxx/run.sh $(B)/libspanalloc-debug.so
	bash tests/cxx/run.sh $(B)/libspanalloc-debug.a

valgrind-tests: all
	bash tests/valgrind/run.sh $(B)/libspanalloc-debug.so
	bash tests/valgrind/run.sh $(B)/libspanalloc-debug.a

# Leak detection: leaky and clean programs, against LeakSanitizer when liblsan0 is there.
leak-tests: all
	bash tests/leaks/run.sh $(B)/libspanalloc-debug.so
	bash tests/leaks/run.sh $(B)/libspanalloc-debug.a

# The debug build inside libFuzzer (no ASan) and AFL++ campaigns (tests/fuzzuse/).
fuzzuse-tests: all
	bash tests/fuzzuse/run.sh $(B)

asan-tests:
	ASAN_BUILD_DIR=$(abspath $(B))/asan bash tests/asan/run.sh

program-tests: all
	bash tests/programs/run.sh $(B)/libspanalloc.so

# make install into a DESTDIR, pkg-config, run-time lookup, uninstall.
install-tests: all
	B=$(B) bash tests/install/run.sh

# ---- style and static checks ------------------------------------------------------

# Every C and C++ source of the tree follows .clang-format, except the
# generated size-class table (tools/mksizeclasses.c writes it; its rows are
# laid out as Go's table is, and check-sizeclasses diffs it byte for byte).
# Every file git tracks follows .editorconfig (tools/editorconfig-check.py:
# line ends, final newline, trailing white space, spaces where it says so).
FORMAT_DIRS := include src src/debug fuzz tests tests/* tests/tsan/criterion tools bench bench/tools bench/workloads
FORMAT_FILES := $(filter-out src/sizeclasses.c,$(sort $(foreach d,$(FORMAT_DIRS),$(wildcard $(d)/*.c $(d)/*.h $(d)/*.cc))))

format-check:
	@clang-format --dry-run --Werror --style=file $(FORMAT_FILES) && echo "format-check: $(words $(FORMAT_FILES)) files conform"
	@python3 tools/editorconfig-check.py

# clang-tidy (.clang-tidy: bugprone and the static analyzer, warnings are
# errors) on the library, both builds, and the size-class generator;
# cppcheck (warnings, performance, portability) on the library, the fuzz
# engine and the tools (not on tests/: the Criterion suites' macros it
# cannot read, and the other programs commit heap bugs on purpose).
TIDY_SRCS := $(wildcard src/*.c) tools/mksizeclasses.c
TIDY_DEBUG_SRCS := $(SRCS:%=src/%) $(wildcard src/debug/*.c)
TIDY_FLAGS := -std=gnu11 -Iinclude -Isrc
TIDY_DEPS := .clang-tidy src/debug/.clang-tidy $(wildcard src/*.h src/debug/*.h include/*.h)
TIDY_STAMPS := $(TIDY_SRCS:%.c=$(B)/lint/%.tidy) $(TIDY_DEBUG_SRCS:%.c=$(B)/lint/%.debug-tidy)

$(B)/lint/%.tidy: %.c $(TIDY_DEPS)
	@mkdir -p $(@D)
	@clang-tidy --quiet $< -- $(TIDY_FLAGS) 2>/dev/null && touch $@

$(B)/lint/%.debug-tidy: %.c $(TIDY_DEPS)
	@mkdir -p $(@D)
	@clang-tidy --quiet $< -- $(TIDY_FLAGS) -DSA_DEBUG 2>/dev/null && touch $@

lint: $(TIDY_STAMPS)
	cppcheck --quiet --std=c11 --enable=warning,performance,portability --inline-suppr --error-exitcode=1 \
	    --suppress=missingIncludeSystem -Iinclude -Isrc -Ifuzz src/*.c src/debug/*.c fuzz/*.c tools/*.c
	@echo "lint: clang-tidy and cppcheck clean"

# ThreadSanitizer: the thread tests and the two-thread fuzz harness's
# corpus, against the library built with -fsanitize=thread.  TSan keeps its
# own malloc (-DSA_NO_STD_NAMES), and the test's malloc/free are spanalloc's
# sa_ names (tests/tsan/sa_names.h).
TSAN := -fsanitize=thread -fno-omit-frame-pointer
TSAN_OPTIONS ?= halt_on_error=1 second_deadlock_stack=1 suppressions=$(abspath tests/tsan/suppressions.txt)

tsan-tests:
	@$(MAKE) --no-print-directory -s B=$(B)/tsan CC=clang OPT="-O1 -g" CFLAGS="$(TSAN) -DSA_NO_STD_NAMES" \
	    $(B)/tsan/libspanalloc.a
	clang $(TESTFLAGS) $(TSAN) -Itests/tsan -include tests/tsan/sa_names.h -o $(B)/tsan/test_threads \
	    tests/test_threads.c $(B)/tsan/libspanalloc.a
	TSAN_OPTIONS="$(TSAN_OPTIONS)" $(B)/tsan/test_threads
	$(MAKE) --no-print-directory -f fuzz/Makefile tsan-replay

# Mutation testing (not in make test: minutes per mutant): every
# tests/mutants/*.patch, a one-line bug, must make the tests fail.
mutants:
	bash tests/mutants/run.sh

# Both builds must compile warning-free under clang too.
check-clang:
	$(MAKE) --no-print-directory -s all B=$(B)/clang CC=clang

test: all check-sizeclasses check-clang format-check lint unit-tests bug-tests cxx-tests leak-tests fuzzuse-tests valgrind-tests \
	asan-tests program-tests install-tests tsan-tests fuzz-replay
	@echo "all tests passed"

# ---- fuzzing (fuzz/Makefile; see fuzz/README.md) ------------------------------

fuzz:
	$(MAKE) -f fuzz/Makefile fuzz $(if $(FUZZ_SECONDS),FUZZ_SECONDS=$(FUZZ_SECONDS))

fuzz-afl:
	$(MAKE) -f fuzz/Makefile afl $(if $(AFL_SECONDS),AFL_SECONDS=$(AFL_SECONDS))

fuzz-replay:
	$(MAKE) -f fuzz/Makefile replay

corpus-min:
	$(MAKE) -f fuzz/Makefile corpus-min

fuzz-coverage:
	$(MAKE) -f fuzz/Makefile coverage

fuzz-planted:
	$(MAKE) -f fuzz/Makefile planted

# ---- the main job and the benchmarks -----------------------------------------

# Debian's python3 when there is one (a pyenv shim is a shell script, whose
# own processes would print their stats too).
PYTHON ?= $(firstword $(wildcard /usr/bin/python3) python3)

demo: all
	bin/spanalloc run --options stats=1 -- $(PYTHON) tests/programs/workload.py

bench: all
	python3 bench/run.py $(if $(QUICK),--quick)

# The debug build against the production build and valgrind memcheck on glibc.
bench-debug: all
	python3 bench/run.py --debug-compare

# Real libFuzzer harnesses with planted heap bugs under plain, ASan, libdislocator,
# the debug build and efence=1 (not in CI; bench/fuzz-compare.sh says the budgets).
fuzz-compare: all
	bash bench/fuzz-compare.sh $(B)

# mimalloc-bench: MBENCH is a checkout of https://github.com/daanx/mimalloc-bench
# (MBENCH_ARGS: e.g. --rounds 5, --only larson).
bench-mimalloc: all
	@test -n "$(MBENCH)" || { echo "usage: make bench-mimalloc MBENCH=DIR (a checkout of https://github.com/daanx/mimalloc-bench)"; exit 2; }
	python3 bench/mimalloc_bench.py --mbench "$(MBENCH)" $(MBENCH_ARGS)

# Detection against glibc, hardened_malloc and both builds; the suites are
# checkouts the caller fetched (not in CI). Writes bench/results/detect.md.
.PHONY: detect
detect: all
	@test -n "$(HMALLOC)" -a -n "$(MBENCH)" || { echo "usage: make detect HMALLOC=DIR MBENCH=DIR"; exit 2; }
	bench/detect/run.sh "$(HMALLOC)" "$(MBENCH)"

# ---- install -------------------------------------------------------------------

DOCS := README.md SECURITY.md docs/design.md
PCS  := spanalloc.pc spanalloc-debug.pc

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
	    $(DESTDIR)$(DOCDIR)
	install -m 755 $(B)/libspanalloc.so $(B)/libspanalloc-debug.so $(DESTDIR)$(LIBDIR)/
	install -m 644 $(B)/libspanalloc.a $(B)/libspanalloc-debug.a $(DESTDIR)$(LIBDIR)/
	install -m 644 include/spanalloc.h $(DESTDIR)$(INCDIR)/
	sed 's|@LIBDIR@|$(LIBDIR)|g' bin/spanalloc > $(DESTDIR)$(BINDIR)/spanalloc
	chmod 755 $(DESTDIR)$(BINDIR)/spanalloc
	for pc in $(PCS); do \
	    sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCDIR@|$(INCDIR)|g' \
	        $$pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/$$pc || exit 1; \
	done
	install -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libspanalloc.so $(DESTDIR)$(LIBDIR)/libspanalloc.a \
	      $(DESTDIR)$(LIBDIR)/libspanalloc-debug.so $(DESTDIR)$(LIBDIR)/libspanalloc-debug.a \
	      $(DESTDIR)$(INCDIR)/spanalloc.h $(DESTDIR)$(BINDIR)/spanalloc \
	      $(addprefix $(DESTDIR)$(LIBDIR)/pkgconfig/,$(PCS)) $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS)))
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

clean:
	rm -rf $(B)

DEPFILES := $(OBJS:.o=.d) $(DEBUG_OBJS:.o=.d) $(TESTS:=.d) $(DEBUG_TESTS:=.d)
$(DEPFILES):
include $(wildcard $(DEPFILES))
