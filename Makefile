# k2t -- Keras-to-PyTorch port debugger.
#
#   make            build ./k2t
#   make check      set up what is missing (Debian packages, npm oracle), build, run every test
#                   (T=PATTERN runs the tests whose name matches), then the fast ones
#                   again against the ASan/UBSan build (asan/...)
#   make demo       set up, build, open the demo model in the shell (DEMO_MODEL=x.h5: another)
#   make install    PREFIX=/usr/local: the binary, the man page, the demo and the
#                   lessons (in $(PREFIX)/share/k2t/demo and .../lessons)
#   make lesson-data  lessons 11 and 12's port dumps (demo/port-*.npz, demo/rnn-port-*.npz,
#                   with PyTorch)
#   make asan       build ./k2t-asan with AddressSanitizer and UBSan (and the fuzz replayers)
#   make fuzz       libFuzzer on the .npy/.npz parsers and the command line (FUZZ_TIME=60 s each)
#   make bench      throughput benchmarks
#
# The engine builds as build/libk2t_engine.a, the commands as
# build/libk2t_commands.a; repl/ links them into ./k2t.  Dependencies point
# one way: repl -> commands -> engine.

PREFIX  ?= /usr/local
CC      ?= cc
OPT     ?= -O2 -g
PKGS     = hdf5 jansson openblas libzip libpng
WARN     = -Wall -Wextra -Wshadow -Wundef -Wmissing-prototypes -Wstrict-prototypes \
           -Wpointer-arith -Wformat=2 -Wno-format-nonliteral
# pkg-config is asked lazily (=, not :=) so that 'make check' can install
# the packages first and then build in a sub-make.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ljpeg
CFLAGS_ALL = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE $(OPT) $(WARN) -MMD -MP $(PKG_CFLAGS) \
             -DK2T_DATADIR='"$(PREFIX)/share/k2t"' $(CFLAGS)
LIBS       = $(PKG_LIBS) -lreadline -lncursesw -lm -lpthread $(LDFLAGS)

B = build
ENGINE_SRC   = $(wildcard engine/*.c engine/ops/*.c)
COMMANDS_SRC = $(wildcard commands/*.c)
REPL_SRC     = $(wildcard repl/*.c)
ENGINE_OBJ   = $(ENGINE_SRC:%.c=$(B)/%.o)
COMMANDS_OBJ = $(COMMANDS_SRC:%.c=$(B)/%.o)
REPL_OBJ     = $(REPL_SRC:%.c=$(B)/%.o)
UNIT_SRC     = $(wildcard tests/unit/test_*.c)
UNIT_BIN     = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

.PHONY: all check demo install lesson-data asan bench clean setup deps-check unit fuzz fuzz-build fuzz-replay
BIN ?= k2t
all: deps-check $(BIN)

deps-check:
	@pkg-config --exists $(PKGS) 2>/dev/null || { \
	  echo "k2t: missing build dependencies; run 'make setup' (or scripts/setup.sh)"; exit 1; }

$(BIN): $(REPL_OBJ) $(B)/libk2t_commands.a $(B)/libk2t_engine.a
	@echo "  LINK    $@"
	@$(CC) $(OPT) -o $@ $(REPL_OBJ) $(B)/libk2t_commands.a $(B)/libk2t_engine.a $(LIBS)

$(B)/libk2t_engine.a: $(ENGINE_OBJ)
	@rm -f $@
	@echo "  AR      $@"
	@ar rcs $@ $^

$(B)/libk2t_commands.a: $(COMMANDS_OBJ)
	@rm -f $@
	@echo "  AR      $@"
	@ar rcs $@ $^

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_ALL) -c $< -o $@

$(B)/tests/%: tests/unit/%.c $(B)/libk2t_commands.a $(B)/libk2t_engine.a
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes -o $@ $< $(B)/libk2t_commands.a $(B)/libk2t_engine.a $(LIBS)

unit: $(UNIT_BIN)

setup:
	@scripts/setup.sh build

# check also builds ./k2t-asan: tests/run replays the fast tests against it.
check:
	@scripts/setup.sh test
	@$(MAKE) --no-print-directory all unit
	@$(MAKE) --no-print-directory asan
	@tests/run $(T)

# Without DEMO_MODEL, k2t opens the demo model shipped in demo/.
DEMO_MODEL ?=
demo: setup
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory lesson-data 2>/dev/null || echo "note: no PyTorch: lessons 11 and 12's port dumps not made"
	@./k2t $(DEMO_MODEL)

# The data directory keeps the source tree's layout (demo/ beside lessons/),
# so that the lessons' "load demo/demo.h5" finds the demo installed too
# (commands/paths.h: script, current directory, then the data directory).
# Lessons 11 and 12's port dumps are generated (scripts/demo_port.py,
# scripts/demo_rnn_port.py, PyTorch), never fetched nor committed; without
# PyTorch the rest installs and those lessons say what they miss.
install: all
	@$(MAKE) --no-print-directory lesson-data || echo "note: no PyTorch (python3-torch): lessons 11 and 12's demo/*port-*.npz not made"
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 k2t $(DESTDIR)$(PREFIX)/bin/k2t
	install -m 644 man/k2t.1 $(DESTDIR)$(PREFIX)/share/man/man1/k2t.1
	install -d $(DESTDIR)$(PREFIX)/share/k2t/demo $(DESTDIR)$(PREFIX)/share/k2t/lessons
	install -m 644 $$(ls demo/*.h5 demo/*.bin demo/*.npy demo/*.classes demo/port-*.npz demo/rnn-port-*.npz \
	  demo/README.md 2>/dev/null) $(DESTDIR)$(PREFIX)/share/k2t/demo/
	install -d $(DESTDIR)$(PREFIX)/share/k2t/scripts
	install -m 644 scripts/demo_port.py scripts/demo_rnn_port.py scripts/torch_dump.py \
	  $(DESTDIR)$(PREFIX)/share/k2t/scripts/
	install -m 644 scripts/lessons/*.k2t $(DESTDIR)$(PREFIX)/share/k2t/lessons/

# The dumps of lesson 11's hand-written port (scripts/demo_port.py) and of
# lesson 12's (scripts/demo_rnn_port.py).
LESSON_DATA = demo/port-1.npz demo/port-2.npz demo/port-3.npz
RNN_LESSON_DATA = demo/rnn-port-1.npz demo/rnn-port-2.npz
lesson-data: $(LESSON_DATA) $(RNN_LESSON_DATA)
$(LESSON_DATA) &: scripts/demo_port.py scripts/torch_dump.py demo/demo.h5 demo/demo-test.bin
	@echo "  GEN     $(LESSON_DATA)"
	@/usr/bin/python3 scripts/demo_port.py >/dev/null
$(RNN_LESSON_DATA) &: scripts/demo_rnn_port.py scripts/torch_dump.py demo/demo-rnn.h5 demo/demo-rnn-x.npy
	@echo "  GEN     $(RNN_LESSON_DATA)"
	@/usr/bin/python3 scripts/demo_rnn_port.py >/dev/null

asan:
	@$(MAKE) --no-print-directory B=build-asan BIN=k2t-asan \
	  OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" k2t-asan fuzz-replay

# Fuzzing (fuzz/README.md).  fuzz-replay builds, in the current build
# directory, a plain driver per harness that runs it over files: tests/run
# replays fuzz/corpus/ and fuzz/regress/ with the ASan build's.  'make fuzz'
# builds the libFuzzer binaries with clang in build-fuzz/ and runs each for
# FUZZ_TIME seconds over a scratch copy of the seeds; crashers land in
# build-fuzz/crash-<harness>-*, to be minimized into fuzz/regress/<harness>/.
FUZZ_NAMES  = npy npz cmd config keras keras_config
FUZZ_TIME  ?= 60
FUZZ_REPLAY = $(FUZZ_NAMES:%=$(B)/fuzz/replay_%)
FUZZ_SAN    = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

fuzz-replay: $(FUZZ_REPLAY)

$(B)/fuzz/replay_%: fuzz/fuzz_%.c fuzz/replay.c $(B)/libk2t_commands.a $(B)/libk2t_engine.a
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes -o $@ fuzz/fuzz_$*.c fuzz/replay.c \
	  $(B)/libk2t_commands.a $(B)/libk2t_engine.a $(LIBS)

build-fuzz/fuzz_%: fuzz/fuzz_%.c build-fuzz/libk2t_commands.a build-fuzz/libk2t_engine.a
	@echo "  FUZZ    $@"
	@clang $(CFLAGS_ALL) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer -Wno-missing-prototypes -o $@ $< \
	  build-fuzz/libk2t_commands.a build-fuzz/libk2t_engine.a $(LIBS)

fuzz-build:
	@$(MAKE) --no-print-directory B=build-fuzz CC=clang \
	  OPT="-O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link" \
	  build-fuzz/libk2t_engine.a build-fuzz/libk2t_commands.a $(FUZZ_NAMES:%=build-fuzz/fuzz_%)

fuzz: fuzz-build
	@for h in $(FUZZ_NAMES); do \
	  rm -rf build-fuzz/work-$$h && mkdir -p build-fuzz/work-$$h && \
	  cp fuzz/corpus/$$h/* build-fuzz/work-$$h/ 2>/dev/null; \
	  cp fuzz/regress/$$h/* build-fuzz/work-$$h/ 2>/dev/null; \
	  echo "fuzz: $$h for $(FUZZ_TIME) s"; \
	  ASAN_OPTIONS=detect_leaks=1 ./build-fuzz/fuzz_$$h -max_total_time=$(FUZZ_TIME) -max_len=65536 \
	    -artifact_prefix=build-fuzz/crash-$$h- -print_final_stats=1 build-fuzz/work-$$h 2>&1 | \
	    grep -E "^#[0-9]+ +DONE|^stat::number_of_executed_units|ERROR|SUMMARY|Test unit written" ; \
	done

bench: all
	@scripts/bench.sh

clean:
	rm -rf build build-asan build-fuzz k2t k2t-asan

-include $(ENGINE_OBJ:.o=.d) $(COMMANDS_OBJ:.o=.d) $(REPL_OBJ:.o=.d)
