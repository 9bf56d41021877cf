# k2t -- Keras-to-PyTorch port debugger.
#
#   make            build ./k2t
#   make check      set up what is missing (Debian packages, npm oracle), build, run every test
#                   (T=PATTERN runs the tests whose name matches), then the fast ones
#                   again against the ASan/UBSan build (asan/...)
#   make demo       set up, build, open the demo model in the shell (DEMO_MODEL=x.h5: another)
#   make install    PREFIX=/usr/local: the binary and the man page
#   make asan       build ./k2t-asan with AddressSanitizer and UBSan
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

.PHONY: all check demo install asan bench clean setup deps-check unit
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
	@./k2t $(DEMO_MODEL)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 k2t $(DESTDIR)$(PREFIX)/bin/k2t
	install -m 644 man/k2t.1 $(DESTDIR)$(PREFIX)/share/man/man1/k2t.1
	install -d $(DESTDIR)$(PREFIX)/share/k2t
	install -m 644 demo/demo.h5 demo/demo-test.bin $(DESTDIR)$(PREFIX)/share/k2t/

asan:
	@$(MAKE) --no-print-directory B=build-asan BIN=k2t-asan \
	  OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" k2t-asan

bench: all
	@scripts/bench.sh

clean:
	rm -rf build build-asan k2t k2t-asan

-include $(ENGINE_OBJ:.o=.d) $(COMMANDS_OBJ:.o=.d) $(REPL_OBJ:.o=.d)
