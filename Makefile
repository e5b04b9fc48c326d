# connrefuse — `make demo` runs the bundled example, `make check` runs every test.
# Both install the Debian packages they need first (as root; otherwise they
# print the apt-get command to run).

PREFIX ?= /usr/local
ARCH := $(shell uname -m)
DESTDIR ?=
BUILD := build

CC ?= cc
# -fexceptions: a thread cancelled inside connect() unwinds through the
# library, which must leave its read section on the way (current.h).
CFLAGS_STRICT := -std=gnu11 -O2 -g -Wall -Wextra -Werror -fPIC -fvisibility=hidden -fexceptions
CFLAGS ?=
CPPFLAGS_ALL := -Iinclude -Isrc -DCR_LIBDIR='"$(PREFIX)/lib/connrefuse"' $(CPPFLAGS)
PKG_CFLAGS = $(shell pkg-config --cflags libconfig 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs libconfig 2>/dev/null)
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

# connrefuse audit (src/audit/): its kernel program is compiled by clang
# (-target bpf) against this kernel's BTF, made a skeleton by bpftool, and
# loaded by libbpf. Needed by every build of the command.
AUDIT_PACKAGES := clang bpftool libbpf-dev
BUILD_PACKAGES := gcc make pkg-config libconfig-dev $(AUDIT_PACKAGES)
DEMO_PACKAGES := python3
TEST_PACKAGES := check rsyslog curl netcat-openbsd python3 strace util-linux procps man-db golang-go nftables iproute2 dnsmasq-base postgresql-client redis-tools python3-prometheus-client python3-twisted python3-pytest python3-pytest-xdist \
	clang-format liburing-dev nodejs openjdk-17-jdk-headless

# The layers (src/README.md): the engine is one static library that the
# preload library, the command, the unit tests, the fuzzers and the
# benchmarks link; the others include the engine, never the reverse.
layer_src = $(sort $(filter-out %.bpf.c,$(wildcard src/$(1)/*.c)))
layer_obj = $(patsubst src/%.c,$(BUILD)/obj/%.o,$(call layer_src,$(1)))
ENGINE_OBJ := $(call layer_obj,engine)
PRELOAD_OBJ := $(call layer_obj,preload)
SECCOMP_OBJ := $(call layer_obj,seccomp)
CLI_OBJ := $(call layer_obj,cli)
AUDIT_OBJ := $(call layer_obj,audit)
RELAY_OBJ := $(call layer_obj,relay)
ENGINE := $(BUILD)/libcrengine.a
# Preload-layer modules with unit suites of their own.
PRELOAD_UNIT_OBJ := $(BUILD)/obj/preload/fdtable.o $(BUILD)/obj/preload/hostcache.o $(BUILD)/obj/preload/current.o
UNIT_SRC := $(wildcard tests/unit/*.c)
HELPERS := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(wildcard tests/integration/*.c)) \
	$(BUILD)/tests/libearly.so $(BUILD)/tests/earlymain $(BUILD)/tests/static-client $(BUILD)/tests/static-epollclient $(BUILD)/tests/static-peerbound $(BUILD)/tests/fault_alloc \
	$(patsubst tests/integration/uring/%.c,$(BUILD)/tests/%,$(wildcard tests/integration/uring/*.c)) \
	$(BUILD)/bundle/$(ARCH)/libconnrefuse.so

.PHONY: all bundle deps test-deps demo check check-cross check-containers check-netem golden-update check-asan check-tsan check-valgrind tsan-run unit integration bench compare-audit fuzz fuzz-run \
	format format-check clean install uninstall

all: deps $(BUILD)/libconnrefuse.so $(BUILD)/connrefuse

# A plain `make` (or make install) installs nothing: it says what is missing.
# The two commands of the README, and the test targets, install it.
INSTALLING_GOALS := demo check check-cross check-containers check-netem bundle check-asan check-tsan check-valgrind tsan-run unit integration bench fuzz fuzz-run \
	golden-update test-deps
deps:
	@tests/tools/ensure-packages $(if $(filter $(INSTALLING_GOALS),$(MAKECMDGOALS)),,--check) $(BUILD_PACKAGES)

test-deps: deps
	@tests/tools/ensure-packages $(TEST_PACKAGES)

# Header dependencies come from the compiler (-MMD).
$(BUILD)/obj/%.o: src/%.c Makefile | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_STRICT) $(CFLAGS) $(CPPFLAGS_ALL) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

-include $(wildcard $(BUILD)/obj/*/*.d)

# The command has the library's installed folder built in (CR_LIBDIR): a
# build for another PREFIX rebuilds what holds it.
$(BUILD)/prefix.stamp: FORCE
	@mkdir -p $(BUILD)
	@echo '$(PREFIX)' | cmp -s - $@ || echo '$(PREFIX)' > $@

$(BUILD)/obj/cli/run.o: $(BUILD)/prefix.stamp

# The kernel program of connrefuse audit: compiled once for the BPF target,
# CO-RE (its field offsets relocated by libbpf against the running kernel's
# BTF), against the types of this machine's kernel (vmlinux.h); embedded in
# the command through the skeleton bpftool makes of it.
BPF_ARCH := $(patsubst x86_64,x86,$(patsubst aarch64,arm64,$(ARCH)))
$(BUILD)/audit/vmlinux.h: | deps
	@mkdir -p $(dir $@)
	@test -r /sys/kernel/btf/vmlinux || { echo "connrefuse: /sys/kernel/btf/vmlinux: this kernel has no BTF, which the audit's kernel program is built against" >&2; exit 1; }
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@
$(BUILD)/audit/connaudit.bpf.o: src/audit/connaudit.bpf.c src/audit/event.h $(BUILD)/audit/vmlinux.h Makefile
	clang -g -O2 -Wall -Wextra -Wno-unused-parameter -Werror -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -I$(BUILD)/audit -Isrc/audit -c $< -o $@
$(BUILD)/audit/connaudit.skel.h: $(BUILD)/audit/connaudit.bpf.o
	bpftool gen skeleton $< name connaudit > $@.tmp && mv $@.tmp $@
$(AUDIT_OBJ): CPPFLAGS_ALL += -I$(BUILD)/audit
$(AUDIT_OBJ): $(BUILD)/audit/connaudit.skel.h

.PHONY: FORCE
FORCE:

$(ENGINE): $(ENGINE_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# The public API (connrefuse_*) lives in the engine: named here, so that the
# archive hands it to the library whatever the hooks use of it.
# libdl and libpthread by their run-time names, kept even where this glibc
# has moved everything into libc.so.6 (src/preload/glibc_baseline.h).
LIB_LIBS := -Wl,--push-state,--no-as-needed -l:libdl.so.2 -l:libpthread.so.0 -Wl,--pop-state -lm
# The version script names the functions of src/preload/hooks.def, the one
# list of interposed functions; one script for every target (no entry there
# depends on one).
LIB_MAP := $(BUILD)/libconnrefuse.map
$(LIB_MAP): src/preload/libconnrefuse.map.in src/preload/hooks.def
	@mkdir -p $(dir $@)
	$(CC) -E -P -undef -x c $< -o $@

$(BUILD)/libconnrefuse.so: $(PRELOAD_OBJ) $(ENGINE) $(LIB_MAP)
	$(CC) -shared -Wl,-Bsymbolic -Wl,-z,defs -Wl,-soname,libconnrefuse.so \
		-Wl,--version-script=$(LIB_MAP) -Wl,--undefined=connrefuse_decode \
		-Wl,--undefined=connrefuse_version $(CFLAGS) -o $@ $(PRELOAD_OBJ) $(ENGINE) $(PKG_LIBS) $(LIB_LIBS)

# ---- The bundle (SPEC.md): one folder to mount read-only into any image ----
# bundle/ARCH/ for glibc 2.17 and later (this machine's architecture, and
# aarch64 cross-built on x86-64), bundle/musl-ARCH/ for musl, each a
# libconnrefuse.so that finds its libconfig beside itself ($$ORIGIN), and
# bundle/bin/connrefuse, static (musl), for any image. A glibc image needs
# one line whatever its architecture, the loader expanding $$PLATFORM:
# LD_PRELOAD='/opt/connrefuse/$$PLATFORM/libconnrefuse.so'. This machine's
# library bundles the system's libconfig; the other targets' libconfig is
# built from Debian's source (tests/tools/libconfig-for).
BUNDLE := $(BUILD)/bundle
CROSS := musl-$(ARCH) $(if $(filter x86_64,$(ARCH)),aarch64)
# (libc6-dev-arm64-cross is only recommended by the cross compiler, and the
# packages are installed without recommends: without it, no crti.o.)
BUNDLE_PACKAGES := musl-tools $(if $(filter x86_64,$(ARCH)),gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
# musl's cancellation does not unwind: no -fexceptions, whose unwinder
# (this compiler's libgcc_eh) needs glibc.
CC_musl-$(ARCH) := musl-gcc
# Its static command has no audit (libbpf is glibc's here): cli/audit.c says so.
CFLAGS_musl-$(ARCH) := $(filter-out -fexceptions,$(CFLAGS_STRICT)) -DCR_NO_AUDIT
CFLAGS_aarch64 := $(CFLAGS_STRICT)
AR_musl-$(ARCH) := ar
LIBS_musl-$(ARCH) := -lm
CC_aarch64 := aarch64-linux-gnu-gcc
AR_aarch64 := aarch64-linux-gnu-ar
LIBS_aarch64 := $(LIB_LIBS)
LIB_LDFLAGS := -shared -Wl,-Bsymbolic -Wl,-z,defs -Wl,-soname,libconnrefuse.so \
	-Wl,--version-script=$(LIB_MAP) -Wl,--undefined=connrefuse_decode \
	-Wl,--undefined=connrefuse_version
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

# glibc's loader expands $PLATFORM to "haswell" or "xeon_phi" on Intel CPUs
# that have those features (sysdeps/x86/cpu-features.c, glibc 2.26 and
# later), to "x86_64" elsewhere: the x86_64 folder under each name.
X86_PLATFORM_LINKS := $(if $(filter x86_64,$(ARCH)),$(BUNDLE)/haswell $(BUNDLE)/xeon_phi)
bundle: $(BUNDLE)/$(ARCH)/libconnrefuse.so $(CROSS:%=$(BUNDLE)/%/libconnrefuse.so) $(BUNDLE)/bin/connrefuse \
	$(X86_PLATFORM_LINKS)

$(X86_PLATFORM_LINKS): | $(BUNDLE)/$(ARCH)/libconnrefuse.so
	ln -sfn x86_64 $@
HELPERS += $(X86_PLATFORM_LINKS) # t_containers loads the bundle through $$PLATFORM

$(BUNDLE)/$(ARCH)/libconnrefuse.so: $(PRELOAD_OBJ) $(ENGINE) $(LIB_MAP)
	@mkdir -p $(dir $@)
	@rm -f $(dir $@)libconfig.so* # so that ldd below names the system's
	$(CC) $(LIB_LDFLAGS) -Wl,-rpath,'$$ORIGIN' $(CFLAGS) -o $@ $(PRELOAD_OBJ) $(ENGINE) $(PKG_LIBS) $(LIB_LIBS)
	cp -L "$$(ldd $@ | awk '/libconfig\.so/ { print $$3 }')" $(dir $@)

# cross_rules TARGET: TARGET's libconfig, objects, engine archive and
# bundled library. musl's headers lack the kernel's: linked from this
# machine's (linux-libc-dev).
define cross_rules
$(BUILD)/$(1)/libconfig/lib/libconfig.a: tests/tools/libconfig-for
	@tests/tools/ensure-packages $(BUNDLE_PACKAGES)
	tests/tools/libconfig-for $(1) $(BUILD)/$(1)/libconfig
	@mkdir -p $(BUILD)/$(1)/kernel
	$(if $(filter musl-%,$(1)),ln -sfn /usr/include/linux /usr/include/asm-generic $(BUILD)/$(1)/kernel/ && \
		ln -sfn /usr/include/$(MULTIARCH)/asm $(BUILD)/$(1)/kernel/asm)
$(BUILD)/$(1)/obj/%.o: src/%.c Makefile $(BUILD)/$(1)/libconfig/lib/libconfig.a
	@mkdir -p $$(dir $$@)
	$$(CC_$(1)) $$(CFLAGS_$(1)) $$(CPPFLAGS_ALL) -I$(BUILD)/$(1)/libconfig/include -isystem $(BUILD)/$(1)/kernel \
		-MMD -MP -c $$< -o $$@
$(BUILD)/$(1)/libcrengine.a: $(patsubst src/%.c,$(BUILD)/$(1)/obj/%.o,$(call layer_src,engine))
	rm -f $$@
	$$(AR_$(1)) rcs $$@ $$^
$(BUNDLE)/$(1)/libconnrefuse.so: $(patsubst src/%.c,$(BUILD)/$(1)/obj/%.o,$(call layer_src,preload)) \
		$(BUILD)/$(1)/libcrengine.a $(LIB_MAP)
	@mkdir -p $$(dir $$@)
	$$(CC_$(1)) $$(LIB_LDFLAGS) -Wl,-rpath,'$$$$ORIGIN' -o $$@ $$(filter %.o %.a,$$^) \
		-L$(BUILD)/$(1)/libconfig/lib -l:libconfig.so.9 $$(LIBS_$(1))
	cp $(BUILD)/$(1)/libconfig/lib/libconfig.so.9 $$(dir $$@)
endef
$(foreach t,$(CROSS),$(eval $(call cross_rules,$(t))))
-include $(wildcard $(BUILD)/*/obj/*/*.d)

# The command for any image: static, musl.
$(BUNDLE)/bin/connrefuse: $(patsubst src/%.c,$(BUILD)/musl-$(ARCH)/obj/%.o,$(call layer_src,cli) $(call layer_src,seccomp) $(call layer_src,relay)) \
		$(BUILD)/musl-$(ARCH)/libcrengine.a
	@mkdir -p $(dir $@)
	musl-gcc -static -o $@ $^ $(BUILD)/musl-$(ARCH)/libconfig/lib/libconfig.a -lm -lpthread

$(BUILD)/connrefuse: $(CLI_OBJ) $(SECCOMP_OBJ) $(AUDIT_OBJ) $(RELAY_OBJ) $(ENGINE)
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(SECCOMP_OBJ) $(AUDIT_OBJ) $(RELAY_OBJ) $(ENGINE) $(PKG_LIBS) -lbpf -lm -lpthread

$(BUILD)/unit_tests: $(UNIT_SRC) $(PRELOAD_UNIT_OBJ) $(ENGINE) $(wildcard tests/unit/*.h) | test-deps
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror $(CFLAGS) $(CPPFLAGS_ALL) $(PKG_CFLAGS) $(CHECK_CFLAGS) \
		-o $@ $(UNIT_SRC) $(PRELOAD_UNIT_OBJ) $(ENGINE) $(PKG_LIBS) $(CHECK_LIBS) -lm -lpthread

$(BUILD)/tests/%: tests/integration/%.c | test-deps
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror $(CFLAGS) -o $@ $< -lpthread

# A library whose constructor connects, and a program that needs it.
$(BUILD)/tests/libearly.so: tests/integration/early/libearly.c | test-deps
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -fPIC -shared $(CFLAGS) -o $@ $<

$(BUILD)/tests/earlymain: tests/integration/early/earlymain.c $(BUILD)/tests/libearly.so
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror $(CFLAGS) -o $@ $< -L$(BUILD)/tests -learly -Wl,-rpath,'$$ORIGIN'

# A statically linked client, for run --seccomp (the preload cannot see it).
$(BUILD)/tests/static-client: tests/integration/seccomp/client.c | test-deps
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -static -o $@ $<

# The epoll client, static too (t_relay_seccomp).
$(BUILD)/tests/static-epollclient: tests/integration/epollclient.c | test-deps
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -static -o $@ $<

# getpeername of more relayed sockets than the tables hold, static too (t_relay_peers).
$(BUILD)/tests/static-peerbound: tests/integration/peerbound.c | test-deps
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -static -o $@ $<

# Clients on io_uring: one that connects through it (t_audit: the kernel's
# view sees it), one that reads and writes through it (t_relay_clients).
$(BUILD)/tests/uring%: tests/integration/uring/uring%.c | test-deps
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror $(CFLAGS) -o $@ $< -luring

# The allocation-failure build (t_fault_alloc): the engine and the rule set
# in force with tests/fault/alloc_fail.h forced in, and its driver.
FAULT_OBJ := $(patsubst src/%.c,$(BUILD)/fault-obj/%.o,$(call layer_src,engine) src/preload/current.c)

$(BUILD)/fault-obj/%.o: src/%.c tests/fault/alloc_fail.h Makefile | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_STRICT) $(CFLAGS) $(CPPFLAGS_ALL) $(PKG_CFLAGS) -include tests/fault/alloc_fail.h -MMD -MP -c $< -o $@

-include $(wildcard $(BUILD)/fault-obj/*/*.d)

$(BUILD)/tests/fault_alloc: tests/fault/fault_alloc.c $(FAULT_OBJ) | test-deps
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror $(CFLAGS) $(CPPFLAGS_ALL) -o $@ $< $(FAULT_OBJ) $(PKG_LIBS) -lm -lpthread

demo: all
	@tests/tools/ensure-packages $(DEMO_PACKAGES)
	@sh examples/demo.sh $(BUILD)

unit: $(BUILD)/unit_tests
	$(BUILD)/unit_tests

integration: all test-deps $(HELPERS)
	@sh tests/integration/run.sh $(BUILD)

BENCH_BIN := $(BUILD)/bench/bench_connect $(BUILD)/bench/listener $(BUILD)/bench/bench_decide $(BUILD)/bench/spawn $(BUILD)/bench/reload_watch \
	$(BUILD)/bench/seccomp_floor $(BUILD)/bench/audit_floor $(BUILD)/bench/audit_floor.bpf.o $(BUILD)/bench/relay_pair

$(BUILD)/bench/%: tests/bench/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror $(CFLAGS) -o $@ $<

$(BUILD)/bench/seccomp_floor: tests/bench/seccomp_floor.c src/seccomp/seccomp_sync.h | deps
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror $(CFLAGS) -Isrc -o $@ $<

$(BUILD)/bench/relay_pair: tests/bench/relay_pair.c | deps
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror $(CFLAGS) -o $@ $< -lpthread

# The floor of connrefuse audit: empty programs on its tracepoint.
$(BUILD)/bench/audit_floor: tests/bench/audit_floor.c | deps
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror $(CFLAGS) -o $@ $< -lbpf
$(BUILD)/bench/audit_floor.bpf.o: tests/bench/audit_floor.bpf.c $(BUILD)/audit/vmlinux.h
	@mkdir -p $(dir $@)
	clang -g -O2 -Wall -Wextra -Wno-unused-parameter -Werror -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -I$(BUILD)/audit -c $< -o $@

$(BUILD)/bench/bench_decide: tests/bench/bench_decide.c $(ENGINE)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror $(CFLAGS) $(CPPFLAGS_ALL) -o $@ $< $(ENGINE) $(PKG_LIBS) -lm

# Benchmarks: figures and ratios, not pass/fail (see README, Performance).
bench: all test-deps $(BENCH_BIN) $(BUILD)/tests/connloop
	@python3 tests/bench/run.py $(BUILD)

# connrefuse audit beside tcpconnect, tcpstates, tcplife and bpftrace on
# the same failures (doc/audit.md): a measurement, not a test; a peer
# that is not installed is named and left out.
compare-audit: all test-deps
	@sh tests/peers/audit_peers.sh $(BUILD)

# The fuzz targets, built with the ordinary compiler and run over the
# committed corpus (past crashes included) by `make check`.
FUZZ_TARGETS := config addr logfmt image
REPLAY := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)
FUZZ_DEPS := tests/fuzz/fuzz.h $(ENGINE)

$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror $(CFLAGS) $(CPPFLAGS_ALL) $(PKG_CFLAGS) -o $@ \
		tests/fuzz/fuzz_$*.c tests/fuzz/replay.c $(ENGINE) $(PKG_LIBS) -lm

# The layout of the C sources (.clang-format, clang-format 14): make
# format-check names each file that differs and how to fix it; make format
# rewrites them all in place.
C_SOURCES = $(sort $(shell find src include tests -name '*.[ch]'))
FORMAT_PACKAGES := clang-format

format-check:
	@tests/tools/ensure-packages $(FORMAT_PACKAGES)
	@tests/tools/format-check $(C_SOURCES)

format:
	@tests/tools/ensure-packages $(FORMAT_PACKAGES)
	clang-format -i $(C_SOURCES)

# The layout first (a second: its verdict is repeated at the end), then
# integration, then the unit suites, so that the run ends with Check's
# summary; any part failing fails the target. T=NAME... runs those
# integration tests alone (make check T=t_drop), without the layout check.
check: all test-deps $(BUILD)/unit_tests $(HELPERS) $(REPLAY)
	@rc=0; fmt=0; \
	if [ -z "$(T)" ]; then tests/tools/format-check $(C_SOURCES) || fmt=1; fi; \
	CR_SANITIZE=$(CR_SANITIZE) sh tests/integration/run.sh $(BUILD) $(T) || rc=1; \
	if [ -z "$(T)" ]; then \
		for t in $(FUZZ_TARGETS); do $(BUILD)/fuzz/replay_$$t tests/fuzz/corpus/fuzz_$$t || rc=1; done; \
		$(BUILD)/unit_tests || rc=1; \
	fi; \
	if [ $$fmt = 1 ]; then echo "make check: failed: C files not formatted as .clang-format says (make format-check names them; make format fixes them)" >&2; rc=1; fi; \
	exit $$rc

# The golden gate (tests/golden): after a change in what users see is made
# on purpose, this records the new output; review its diff before committing.
golden-update: all test-deps $(BUILD)/unit_tests $(HELPERS)
	sh tests/golden/cli.sh $(BUILD) > tests/golden/cli.expected
	sh tests/integration/run.sh $(BUILD) > /dev/null || true
	rm -rf tests/golden/lines && cp -r $(BUILD)/tests/golden-lines tests/golden/lines

VERSION := $(shell sed -n 's/^\#define CONNREFUSE_VERSION "\(.*\)"/\1/p' include/connrefuse.h)

$(BUILD)/connrefuse.pc: connrefuse.pc.in include/connrefuse.h
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

# The Go helper's module source (go.mod and its files, no tests).
GO_HELPER := helpers/go/connrefuse/go.mod $(filter-out %_test.go,$(wildcard helpers/go/connrefuse/*.go))

install: all $(BUILD)/connrefuse.pc
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/connrefuse $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/connrefuse/pytest \
		$(DESTDIR)$(PREFIX)/share/connrefuse/go/connrefuse
	install -m 755 $(BUILD)/connrefuse $(DESTDIR)$(PREFIX)/bin/connrefuse
	install -m 755 $(BUILD)/libconnrefuse.so $(DESTDIR)$(PREFIX)/lib/connrefuse/libconnrefuse.so
	install -m 644 include/connrefuse.h $(DESTDIR)$(PREFIX)/include/connrefuse.h
	install -m 644 $(BUILD)/connrefuse.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/connrefuse.pc
	install -m 644 doc/connrefuse.1 $(DESTDIR)$(PREFIX)/share/man/man1/connrefuse.1
	install -m 644 doc/connrefuse.cfg.5 $(DESTDIR)$(PREFIX)/share/man/man5/connrefuse.cfg.5
	install -m 644 doc/connrefuse.bash-completion $(DESTDIR)$(PREFIX)/share/bash-completion/completions/connrefuse
	install -m 644 helpers/pytest/connrefuse_pytest.py $(DESTDIR)$(PREFIX)/share/connrefuse/pytest/connrefuse_pytest.py
	install -m 644 $(GO_HELPER) $(DESTDIR)$(PREFIX)/share/connrefuse/go/connrefuse/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/connrefuse $(DESTDIR)$(PREFIX)/lib/connrefuse/libconnrefuse.so \
		$(DESTDIR)$(PREFIX)/include/connrefuse.h $(DESTDIR)$(PREFIX)/lib/pkgconfig/connrefuse.pc \
		$(DESTDIR)$(PREFIX)/share/man/man1/connrefuse.1 $(DESTDIR)$(PREFIX)/share/man/man5/connrefuse.cfg.5 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/connrefuse \
		$(DESTDIR)$(PREFIX)/share/connrefuse/pytest/connrefuse_pytest.py \
		$(addprefix $(DESTDIR)$(PREFIX)/share/connrefuse/go/connrefuse/,$(notdir $(GO_HELPER)))
	-rmdir $(DESTDIR)$(PREFIX)/lib/connrefuse $(DESTDIR)$(PREFIX)/share/connrefuse/pytest \
		$(DESTDIR)$(PREFIX)/share/connrefuse/go/connrefuse $(DESTDIR)$(PREFIX)/share/connrefuse/go \
		$(DESTDIR)$(PREFIX)/share/connrefuse 2>/dev/null

# The slow suites (.ci/run runs them): the bundle's other libraries with
# programs of their own kind (musl; arm64 under qemu-user), and the bundle
# in real containers (podman, runc; images made with debootstrap, cached in
# /var/cache/connrefuse).
CROSS_PACKAGES := $(BUNDLE_PACKAGES) qemu-user
CONTAINER_PACKAGES := podman runc catatonit debootstrap rsyslog python3-yaml $(BUNDLE_PACKAGES)
check-cross: all test-deps bundle $(HELPERS)
	@tests/tools/ensure-packages $(CROSS_PACKAGES)
	@sh tests/integration/run.sh $(BUILD) x_cross

check-containers: all test-deps bundle $(HELPERS)
	@tests/tools/ensure-packages $(CONTAINER_PACKAGES)
	@sh tests/integration/run.sh $(BUILD) x_podman

# Latency against real netem (tests/netem/run): this machine's kernel has no
# sch_netem, so Debian's own kernel, which has it as a module, boots in qemu
# (emulated: no KVM needed) on the host's / and runs the latency checks of
# t_relay_shape and t_relay_shape_clients there, and t_seccomp (6.1 ends
# the supervisor's wait otherwise than this machine's kernel: seccomp.md). The kernel's package is
# unpacked into the build folder, never installed; the initramfs holds
# busybox, tests/netem/init and the modules below (those a kernel has built
# in are left out).
NETEM_PACKAGES := qemu-system-x86 busybox-static
NETEM := $(BUILD)/netem
# The modules that mount 9p over virtio, each after those it needs, then sch_netem.
NETEM_MODULES := virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci 9pnet 9pnet_virtio netfs fscache 9p sch_netem
check-netem: all test-deps $(HELPERS) $(NETEM)/initramfs.gz
	@tests/netem/run $(BUILD) t_relay_shape t_relay_shape_clients t_seccomp

# The kernel linux-image-amd64 names (the lists updated once if it is not found).
$(NETEM)/kernel.stamp:
	@[ $(ARCH) = x86_64 ] || { echo "make check-netem: x86-64 only (Debian's linux-image-amd64 in qemu-system-x86_64)" >&2; exit 1; }
	@tests/tools/ensure-packages $(NETEM_PACKAGES)
	rm -rf $(NETEM)/kernel $(NETEM)/linux-image-*.deb && mkdir -p $(NETEM)
	cd $(NETEM) && get() { \
		pkg=$$(apt-cache depends linux-image-amd64 2> /dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)/\1/p' | head -n 1); \
		[ -n "$$pkg" ] && apt-get download -q -o APT::Sandbox::User=root $$pkg; }; \
	get || { apt-get update -qq && get; } || { echo "make check-netem: cannot download the kernel linux-image-amd64 names" >&2; exit 1; }; \
	dpkg-deb -x $${pkg}_*.deb kernel
	touch $@

$(NETEM)/initramfs.gz: $(NETEM)/kernel.stamp tests/netem/init
	rm -rf $(NETEM)/initramfs && mkdir -p $(addprefix $(NETEM)/initramfs/,bin lib/modules proc sys dev)
	cp /bin/busybox tests/netem/init $(NETEM)/initramfs/
	mv $(NETEM)/initramfs/busybox $(NETEM)/initramfs/bin/
	out="$$PWD/$(NETEM)/initramfs" && cd $(NETEM)/kernel/lib/modules/* && for m in $(NETEM_MODULES); do \
		f=$$(find kernel -name "$$m.ko*" | head -n 1); \
		if [ -z "$$f" ]; then grep -q "/$$m.ko" modules.builtin || { echo "make check-netem: no module $$m" >&2; exit 1; }; continue; fi; \
		case $$f in *.xz) xz -dc $$f ;; *.zst) zstd -dcq $$f ;; *) cat $$f ;; esac > "$$out/lib/modules/$$m.ko"; \
		echo $$m >> "$$out/modules"; \
	done
	cd $(NETEM)/initramfs && find . | busybox cpio -o -H newc 2> /dev/null | gzip -1 > ../initramfs.gz

# The whole suite with AddressSanitizer and UBSan: library, command, unit
# tests and helpers instrumented; the library preloaded after libasan in the
# real programs. Any report fails the run.
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
check-asan:
	$(MAKE) BUILD=build-asan CFLAGS="$(SAN_FLAGS)" CR_SANITIZE=asan check

# ThreadSanitizer: the unit suite, the C stress tests (threads, reloads,
# forks) and the threaded seccomp supervisor, instrumented. Any report fails.
check-tsan:
	$(MAKE) BUILD=build-tsan CFLAGS="-fsanitize=thread -fno-omit-frame-pointer" tsan-run

tsan-run: all test-deps $(BUILD)/unit_tests $(HELPERS)
	@rc=0; CR_SANITIZE=tsan sh tests/integration/run.sh $(BUILD) $(or $(T),t_stress t_schedules t_reload t_seccomp) || rc=1; \
	TSAN_OPTIONS="halt_on_error=1" $(BUILD)/unit_tests || rc=1; exit $$rc

# valgrind memcheck on the unit suite, in one process (CK_FORK=no): no
# error, no block definitely lost.
check-valgrind: test-deps $(BUILD)/unit_tests
	@tests/tools/ensure-packages valgrind
	CK_FORK=no valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
		--show-leak-kinds=definite $(BUILD)/unit_tests

# libFuzzer (clang): each target FUZZ_SECONDS seconds, starting from the
# committed corpus; new inputs go to build-fuzz/corpus, crashes to
# build-fuzz/crashes (copy one into tests/fuzz/corpus/ to keep it replayed).
FUZZ_SECONDS ?= 60
fuzz:
	@tests/tools/ensure-packages clang libclang-rt-14-dev $(BUILD_PACKAGES)
	$(MAKE) BUILD=build-fuzz CC=clang \
		CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" fuzz-run

fuzz-run: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
	@mkdir -p $(BUILD)/crashes
	@for t in $(FUZZ_TARGETS); do mkdir -p $(BUILD)/corpus/$$t; \
		echo "fuzz_$$t: $(FUZZ_SECONDS) s"; \
		LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/crashes/$$t- $(BUILD)/corpus/$$t tests/fuzz/corpus/fuzz_$$t \
			> $(BUILD)/fuzz_$$t.log 2>&1 || { tail -n 40 $(BUILD)/fuzz_$$t.log; exit 1; }; \
		grep -E '^stat::(number_of_executed_units|new_units_added)|^Done' $(BUILD)/fuzz_$$t.log; \
	done; echo "fuzz: no crash in any target"

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -fsanitize=fuzzer $(CFLAGS) $(CPPFLAGS_ALL) $(PKG_CFLAGS) -o $@ \
		$< $(ENGINE) $(PKG_LIBS) -lm

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz
