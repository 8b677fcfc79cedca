# zooinit — see README.md. `make` builds build/zooinit; `make test` runs
# every test (integration tests need root); `make demo` starts a local
# three-member cluster without root.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR := $(PREFIX)/bin
MANDIR := $(PREFIX)/share/man
UNITDIR := $(PREFIX)/lib/systemd/system
CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS := libcares libcurl jansson libconfig libcrypto

# SANITIZE=address,undefined builds everything with those sanitizers into
# its own tree, so a sanitized and a plain build can live side by side.
comma := ,
SANITIZE ?=
BUILD := build$(if $(SANITIZE),-$(subst $(comma),-,$(SANITIZE)))

CFLAGS ?= -O2 -g
ZCFLAGS := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -I. -MMD -MP \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
ifneq ($(SANITIZE),)
ZCFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

LIB_SRC := $(filter-out agent/main.c,$(wildcard lib/*.c resolver/*.c config/*.c etcd/*.c pki/*.c services/*.c agent/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libzooinit.a
BIN := $(BUILD)/zooinit

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all test test-unit test-integ test-docker test-docker-zk docker-images demo demo-stop \
	install clean valgrind deps bench etcd-versions check-layout

all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ZCFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(BUILD)/agent/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ZCFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LIBS) -lcmocka

# Installs what building and testing need (Debian); a no-op when all is
# there, and a printed apt-get command when it is missing and we are not root.
deps:
	@tests/deps.sh

test: deps
	@tests/layout.sh
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory fuzz-replay
	@$(MAKE) --no-print-directory test-integ
	@$(MAKE) --no-print-directory test-docker

# Layers include only downward, files and functions stay short.
check-layout:
	@tests/layout.sh

test-unit: $(BIN) $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

# ETCD=DIR runs them against the etcd in DIR (see tests/etcd-build.sh).
# JOBS tests run at a time: each has its own namespaces, and most of a
# test's time is spent waiting for etcd, so two share two cores well.
JOBS ?= 2
test-integ: $(BIN)
	@JOBS=$(JOBS) ETCD=$(ETCD) tests/integ/run.sh $(abspath $(BIN))

# Builds etcd ETCD_VERSIONS from the Go module proxy into ETCD_CACHE.
ETCD_VERSIONS ?= 3.5.21 3.6.16 3.7.3
ETCD_CACHE ?= /var/cache/zooinit/etcd
etcd-versions:
	@ETCD_CACHE=$(ETCD_CACHE) tests/etcd-build.sh $(ETCD_VERSIONS)

# Needs a Docker engine; says so and passes when none answers.
test-docker: $(BIN)
	@tests/docker/run.sh

# The ZooKeeper example (docker/compose-zk.yml); not part of `make test`.
# Passes with a SKIPPED line without Docker, Java or Debian's zookeeper.
test-docker-zk: $(BIN)
	@tests/docker/zk.sh

docker-images: $(BIN)
	@docker/build.sh

# The benchmark (root; installs gnuplot-nox for the plot when missing);
# RUNS=, NS=, EXTRAS= and the BENCH_* knobs: see bench/README.md.
bench: $(BIN)
	@bench/run.sh $(BIN)

valgrind: $(UNIT_BIN)
	@tests/run-unit.sh --valgrind $(UNIT_BIN)

demo: deps
	@$(MAKE) --no-print-directory all
	@tests/demo.sh start $(abspath $(BIN))

demo-stop:
	@tests/demo.sh stop

# The unit's ExecStart is the run-time path: BINDIR without DESTDIR.
install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/zooinit
	install -m 0644 docs/zooinit.8 $(DESTDIR)$(MANDIR)/man8/zooinit.8
	sed 's|@BINDIR@|$(BINDIR)|g' docs/zooinit.service > $(BUILD)/zooinit.service
	install -m 0644 $(BUILD)/zooinit.service $(DESTDIR)$(UNITDIR)/zooinit.service

clean:
	rm -rf build build-*

-include $(LIB_OBJ:.o=.d) $(BUILD)/agent/main.d $(UNIT_BIN:=.d)

include fuzz/Makefile.inc
