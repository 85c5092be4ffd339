# mpo: distributed MPO in C. `make` builds build/mpo; `make train` trains on the default
# (Pendulum-v1); `make test` runs every cmocka test, then again under ASan+UBSan.
CC ?= cc
BUILD ?= build
SANITIZE ?=
PREFIX ?= /usr/local
DESTDIR ?=
PKGS := libzmq libprotobuf-c openblas cmocka inih

ifeq ($(V),1)
Q :=
else
Q := @
endif

CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -MMD -MP -I. -I$(BUILD)
LDLIBS += -lmujoco -lm -lpthread
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZE)
endif

# build/config.mk holds the pkg-config flags; making it first installs missing Debian packages.
# Make rebuilds an included makefile that is out of date and restarts, so a fresh machine needs
# nothing but `make`.
CONFIG_MK := build/config.mk
ifeq ($(filter clean help,$(MAKECMDGOALS)),)
-include $(CONFIG_MK)
endif
$(CONFIG_MK): deploy/install-deps.sh
	@mkdir -p $(dir $@)
	$(Q)./deploy/install-deps.sh
	$(Q){ echo "PKG_CFLAGS := $$(pkg-config --cflags $(PKGS))"; \
	      echo "PKG_LIBS := $$(pkg-config --libs $(PKGS))"; } > $@
	@echo "mpo: dependencies present (pkg-config: $(PKGS); MuJoCo linked as -lmujoco)"

CFLAGS += $(PKG_CFLAGS)
LDLIBS := $(PKG_LIBS) $(LDLIBS)

LIB_SRC := $(wildcard common/*.c learner/*.c replay/*.c actor/*.c bench/*.c)
LIB_SRC := $(filter-out common/main.c,$(LIB_SRC))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/common/main.o
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
MPO := $(BUILD)/mpo

.PHONY: all train test check test-run bench bench-update bench-learning deps install uninstall clean help
all: $(MPO)

help:
	@echo "make            build $(MPO)"
	@echo "make train      train with the defaults (Pendulum-v1); ARGS='--set key=value ...' adds options"
	@echo "make test       run every test, then again under ASan+UBSan"
	@echo "make bench      update speed and learning benchmarks (figures in docs/benchmarks.md)"
	@echo "make install    install mpo under PREFIX=$(PREFIX)"

deps:
	$(Q)./deploy/install-deps.sh

$(BUILD)/%.o: %.c $(CONFIG_MK)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(MPO): $(MAIN_OBJ) $(LIB_OBJ)
	@$(if $(Q),echo "  LD $@")
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIB_OBJ)
	@$(if $(Q),echo "  LD $@")
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

train: $(MPO)
	./$(MPO) train $(ARGS)

# Tests run with the built program beside them (process tests start it).
test-run: $(TEST_BIN) $(MPO)
	$(Q)fail=0; for t in $(TEST_BIN); do \
	    echo "== $$t"; MPO_BIN=$(MPO) ./$$t || fail=1; done; \
	    [ $$fail = 0 ] && echo "== all tests passed ($(BUILD))" || { echo "== tests FAILED ($(BUILD))"; exit 1; }

test: $(CONFIG_MK)
	$(Q)$(MAKE) --no-print-directory test-run
	$(Q)$(MAKE) --no-print-directory test-run BUILD=build/sanitize SANITIZE=address,undefined CFLAGS="-O1 -g"
check: test

bench: $(MPO)
	./bench/run.sh

install: $(MPO)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/mpo
	install -m 755 $(MPO) $(DESTDIR)$(PREFIX)/bin/mpo
	if [ -d share ]; then cp -r share/. $(DESTDIR)$(PREFIX)/share/mpo/; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/mpo
	rm -rf $(DESTDIR)$(PREFIX)/share/mpo

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
