# mpo: distributed MPO in C. `make` builds build/mpo; `make train` trains on the default
# (Pendulum-v1); `make test` runs every cmocka test, then again under ASan+UBSan, then each fuzz
# target over its seeds; `make fuzz` and `make fuzz-net` fuzz for longer (docs/testing.md).
CC ?= cc
BUILD ?= build
SANITIZE ?=
PREFIX ?= /usr/local
DESTDIR ?=
PKGS := libzmq libprotobuf-c openblas cmocka inih libmicrohttpd

ifeq ($(V),1)
Q :=
else
Q := @
endif

# OPT is the optimisation level; CFLAGS from the command line are added to ours, not instead of them.
OPT ?= -O2 -g
override CFLAGS += $(OPT)
# -O2 vectorises only loops of known trip count; the learner's bias, ReLU and loss loops need the
# dynamic cost model to become SIMD.
override CFLAGS += -fvect-cost-model=dynamic
# nothing reads errno after a maths call; with it, every sqrtf is a libm call that stops a loop's
# vectorisation (rng_normal_fill). Results are the same: IEEE sqrt either way.
override CFLAGS += -fno-math-errno
override CFLAGS += -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -MMD -MP -I. -I$(BUILD)
# oneDNN has no pkg-config file in Debian; -lgomp for omp_set_num_threads (nn/gemm.c)
LDLIBS += -ldnnl -lgomp -lmujoco -lm -lpthread
ifneq ($(SANITIZE),)
override CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZE)
endif

# build/config.mk holds the pkg-config flags; making it first installs missing Debian packages.
# Make rebuilds an included makefile that is out of date and restarts, so a fresh machine needs
# nothing but `make`.
.DEFAULT_GOAL := all
CONFIG_MK := build/config.mk
ifeq ($(filter clean help,$(MAKECMDGOALS)),)
-include $(CONFIG_MK)
endif
$(CONFIG_MK): deploy/install-deps.sh Makefile
	@mkdir -p $(dir $@)
	$(Q)./deploy/install-deps.sh
	$(Q){ echo "PKG_CFLAGS := $$(pkg-config --cflags $(PKGS))"; \
	      echo "PKG_LIBS := $$(pkg-config --libs $(PKGS))"; } > $@
	@echo "mpo: dependencies present (pkg-config: $(PKGS); MuJoCo linked as -lmujoco)"

override CFLAGS += $(PKG_CFLAGS)
LDLIBS := $(PKG_LIBS) $(LDLIBS)

# folders from the bottom up: each may include only the ones before it (tests/test_layout.sh)
SRC_DIRS := common nn env learner replay actor cli
LIB_SRC := $(wildcard $(SRC_DIRS:%=%/*.c))
LIB_SRC := $(filter-out cli/main.c,$(LIB_SRC))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
# Every MuJoCo model env/models/NAME.xml is compiled into the library as the byte array
# NAME_xml[] (NUL-terminated) with NAME_xml_len, generated with od and sed into $(BUILD)/gen/.
MODEL_XML := $(wildcard env/models/*.xml)
MODEL_OBJ := $(MODEL_XML:env/models/%.xml=$(BUILD)/gen/%_xml.o)
LIB_OBJ += $(MODEL_OBJ)
# The wire protocol: proto/mpo.proto compiled by protoc-c into $(BUILD)/proto/mpo.pb-c.{c,h}.
PROTO_C := $(BUILD)/proto/mpo.pb-c.c
PROTO_H := $(BUILD)/proto/mpo.pb-c.h
LIB_OBJ += $(BUILD)/proto/mpo.pb-c.o
MAIN_OBJ := $(BUILD)/cli/main.o
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# script tests (processes, namespaces, docs); each exits 0 pass, 77 skip, else fail
TEST_SH := $(wildcard tests/test_*.sh)
MPO := $(BUILD)/mpo
# the fuzzers' builds (fuzz/; the rules are below); the network fuzzer runs in make test, short
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_NET := $(FUZZ_DIR)/fuzz_net

.PHONY: all train test check docs test-run python fuzz fuzz-seeds fuzz-smoke fuzz-net bench bench-update bench-learner bench-learning bench-env bench-replay bench-distributed bench-python deps install uninstall clean help test-deploy test-slurm
all: $(MPO)

help:
	@echo "make            build $(MPO)"
	@echo "make train      train with the defaults (Pendulum-v1); ARGS='--set key=value ...' adds options"
	@echo "make test       run every test, then again under ASan+UBSan, then the fuzz targets briefly"
	@echo "make python     the Python actor's protocol module, $(BUILD)/python/mpo_pb2.py (docs/python.md)"
	@echo "make fuzz       the libFuzzer targets for FUZZ_SECONDS=$(FUZZ_SECONDS) s each (clang; docs/testing.md)"
	@echo "make fuzz-net   a live replay server and learner under 10^6 hostile messages each (docs/testing.md)"
	@echo "make bench      benchmarks: BENCH=update|learner|learning|env|replay|distributed|python|actor-overhead|bf16|all (docs/benchmarks.md)"
	@echo "make install    install mpo under PREFIX=$(PREFIX)"
	@echo "make test-deploy  the Docker images and a compose cluster end to end (docs/deploy.md; not in make test)"
	@echo "make test-slurm   deploy/slurm/mpo.sbatch on a three-node Slurm cluster in namespaces (docs/deploy.md; make test runs it where it can)"

deps:
	$(Q)./deploy/install-deps.sh

$(BUILD)/%.o: %.c $(CONFIG_MK) | $(PROTO_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(PROTO_C) $(PROTO_H) &: proto/mpo.proto $(CONFIG_MK)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  PROTOC $<")
	$(Q)protoc-c --c_out=$(BUILD) $<

$(BUILD)/proto/mpo.pb-c.o: $(PROTO_C)
	@$(if $(Q),echo "  CC $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The Python actor (python/mpo_actor, docs/python.md) imports the protocol from mpo_pb2.py, made
# by Debian's protoc from the same proto/mpo.proto; --python installs protoc and the Python packages.
PY_PROTO := $(BUILD)/python/mpo_pb2.py
python: $(PY_PROTO)
$(PY_PROTO): proto/mpo.proto deploy/install-deps.sh
	$(Q)./deploy/install-deps.sh --python
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  PROTOC $< (python)")
	$(Q)protoc --python_out=$(dir $@) -Iproto $<

# keep generated sources and test objects: make would delete them as intermediates
.SECONDARY:
$(BUILD)/gen/%_xml.c: env/models/%.xml
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN $@")
	$(Q){ echo '/* generated by the Makefile from $<; do not edit */'; \
	      echo 'const unsigned char $*_xml[] = {'; \
	      od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	      echo '0x00};'; \
	      echo 'const unsigned int $*_xml_len = sizeof $*_xml - 1;'; } > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/%_xml.o: $(BUILD)/gen/%_xml.c $(CONFIG_MK)
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

# Tests run with the built program beside them (process tests start it); the Python actor's test
# finds mpo_pb2.py beside it too.
test-run: $(TEST_BIN) $(MPO) $(PY_PROTO) $(FUZZ_NET)
	$(Q)fail=0; for t in $(TEST_BIN) $(TEST_SH); do \
	    echo "== $$t"; MPO_BIN=$(MPO) ./$$t; rc=$$?; \
	    if [ $$rc = 77 ]; then echo "   (skipped)"; elif [ $$rc != 0 ]; then fail=1; fi; done; \
	    [ $$fail = 0 ] && echo "== all tests passed ($(BUILD))" || { echo "== tests FAILED ($(BUILD))"; exit 1; }

test: $(CONFIG_MK)
	$(Q)./deploy/install-deps.sh --test
	$(Q)$(MAKE) --no-print-directory test-run
	$(Q)$(MAKE) --no-print-directory test-run BUILD=build/sanitize SANITIZE=address,undefined OPT="-O1 -g"
	$(Q)$(MAKE) --no-print-directory fuzz-smoke
check: test

# ---------------------------------------------------------------- fuzzing (docs/testing.md)
# libFuzzer targets fuzz/fuzz_NAME.c, built with clang (coverage, ASan, UBSan) over the few sources
# they test, into $(FUZZ_DIR)/cov/; their seed corpora are written by $(FUZZ_DIR)/seeds (built with
# the rest), and what they find is kept in $(FUZZ_DIR)/corpus/NAME from run to run.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_NAMES := wire config
FUZZ_BIN := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_DIR)/cov/%.o,common/wire.c common/arena.c common/config.c common/error.c) \
    $(FUZZ_DIR)/cov/proto/mpo.pb-c.o
FUZZ_CFLAGS := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -MMD -MP -I. -I$(BUILD) $(PKG_CFLAGS) -g -O1 \
    -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_SEEDS := $(FUZZ_DIR)/seed-corpus
FUZZ_FLAGS := -timeout=10 -rss_limit_mb=2048 -artifact_prefix=$(FUZZ_DIR)/crashes/ -print_final_stats=1

# clang that links a libFuzzer target, installed when missing (deploy/install-deps.sh --fuzz)
$(FUZZ_DIR)/toolchain.ok: deploy/install-deps.sh
	@mkdir -p $(dir $@)
	$(Q)try() { echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d[0] * 0 + (int)(n * 0); }' | \
	        $(FUZZ_CC) -x c -fsanitize=fuzzer - -o $(FUZZ_DIR)/toolchain-check >/dev/null 2>&1; }; \
	    try || { ./deploy/install-deps.sh --fuzz && try; } || \
	    { echo "mpo: make fuzz needs clang with libFuzzer: '$(FUZZ_CC) -fsanitize=fuzzer' does not link (sudo apt-get install clang libclang-rt-dev, or FUZZ_CC=...)" >&2; exit 1; }
	@touch $@

$(FUZZ_DIR)/cov/%.o: %.c $(CONFIG_MK) | $(PROTO_H) $(FUZZ_DIR)/toolchain.ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/cov/proto/mpo.pb-c.o: $(PROTO_C) | $(FUZZ_DIR)/toolchain.ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/cov/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	@$(if $(Q),echo "  LD $@")
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer,address,undefined $^ $(PKG_LIBS) -o $@

$(FUZZ_DIR)/seeds: $(FUZZ_DIR)/seeds.o $(FUZZ_DIR)/fuzz_msg.o $(LIB_OBJ)
	@$(if $(Q),echo "  LD $@")
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

FUZZ_NET_OBJ := $(patsubst %,$(FUZZ_DIR)/%.o,net net_check net_replay net_weights net_zmtp net_proc fuzz_msg)
$(FUZZ_NET): $(FUZZ_NET_OBJ) $(LIB_OBJ)
	@$(if $(Q),echo "  LD $@")
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# the seed corpora, written afresh (deploy/mpo.ini is a config seed too)
fuzz-seeds: $(FUZZ_DIR)/seeds
	$(Q)rm -rf $(FUZZ_SEEDS) && ./$(FUZZ_DIR)/seeds $(FUZZ_SEEDS) && cp deploy/mpo.ini $(FUZZ_SEEDS)/config/

# each target for FUZZ_SECONDS from its corpus and the seeds; a crash stops here with its input kept
fuzz: $(FUZZ_BIN) fuzz-seeds
	$(Q)mkdir -p $(FUZZ_DIR)/crashes; for t in $(FUZZ_NAMES); do mkdir -p $(FUZZ_DIR)/corpus/$$t; \
	    echo "== fuzz_$$t for $(FUZZ_SECONDS) s (log: $(FUZZ_DIR)/fuzz_$$t.log)"; \
	    if ./$(FUZZ_DIR)/fuzz_$$t $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SECONDS) $(FUZZ_DIR)/corpus/$$t \
	            $(FUZZ_SEEDS)/$$t > $(FUZZ_DIR)/fuzz_$$t.log 2>&1; then grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' $(FUZZ_DIR)/fuzz_$$t.log; \
	    else tail -n 40 $(FUZZ_DIR)/fuzz_$$t.log; echo "== fuzz_$$t FAILED: the input is in $(FUZZ_DIR)/crashes/"; exit 1; fi; done
	$(Q)echo "== fuzz targets passed"

# make test's share: each target over its seeds and 1000 mutations of them (seconds)
fuzz-smoke: $(FUZZ_BIN) fuzz-seeds
	$(Q)mkdir -p $(FUZZ_DIR)/crashes; for t in $(FUZZ_NAMES); do \
	    ./$(FUZZ_DIR)/fuzz_$$t $(FUZZ_FLAGS) -seed=1 -runs=1000 $(FUZZ_SEEDS)/$$t > $(FUZZ_DIR)/fuzz_$$t-smoke.log 2>&1 || \
	    { tail -n 40 $(FUZZ_DIR)/fuzz_$$t-smoke.log; echo "== fuzz_$$t FAILED on its seeds"; exit 1; }; done
	$(Q)echo "== fuzz targets passed their seeds and 1000 mutations each"

# a live replay server and learner under FUZZ_NET_MESSAGES hostile messages each (fuzz/net.c)
FUZZ_NET_MESSAGES ?= 1000000
fuzz-net: $(FUZZ_NET) $(MPO)
	./$(FUZZ_NET) --mpo $(MPO) --messages $(FUZZ_NET_MESSAGES) $(FUZZ_NET_ARGS)

# the Docker images and a compose cluster end to end; needs root (installs docker.io), not part of test
test-deploy:
	./deploy/test-deploy.sh

# deploy/slurm/mpo.sbatch on a three-node Slurm cluster in network namespaces, end to end; needs
# root (installs slurmctld, slurmd and munge, makes namespaces); make test runs it once, skipping it
# with the reason where it cannot run
test-slurm: $(MPO)
	MPO_BIN=$(MPO) ./deploy/test-slurm.sh

# the README's configuration table is generated from the config table
docs: $(MPO)
	$(Q){ sed '/<!-- config:begin -->/q' README.md; ./$(MPO) config --markdown; \
	      sed -n '/<!-- config:end -->/,$$p' README.md; } > README.md.tmp && mv README.md.tmp README.md

# make bench [BENCH=update|learner|learning|env|replay|distributed|python|actor-overhead|bf16|all]
BENCH ?= all
# what a bf16 critic would give (oneDNN's matmul on the critics' shapes): a benchmark, never linked into mpo
BF16_BENCH := $(BUILD)/bench/bf16_critic
$(BF16_BENCH): $(BUILD)/bench/bf16_critic.o
	@$(if $(Q),echo "  LD $@")
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
bench: $(MPO) $(if $(filter python,$(BENCH)),$(PY_PROTO)) $(if $(filter bf16 all,$(BENCH)),$(BF16_BENCH))
	MPO=$(MPO) BF16=$(BF16_BENCH) ./bench/run.sh $(BENCH)
bench-update bench-learner bench-learning bench-env bench-replay bench-distributed: $(MPO)
	MPO=$(MPO) ./bench/run.sh $(@:bench-%=%)
bench-python: $(MPO) $(PY_PROTO)
	MPO=$(MPO) ./bench/run.sh python

install: $(MPO)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/mpo $(DESTDIR)$(PREFIX)/share/mpo/models
	install -m 755 $(MPO) $(DESTDIR)$(PREFIX)/bin/mpo
	install -m 644 $(MODEL_XML) $(DESTDIR)$(PREFIX)/share/mpo/models/
	if [ -d share ]; then cp -r share/. $(DESTDIR)$(PREFIX)/share/mpo/; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/mpo
	rm -rf $(DESTDIR)$(PREFIX)/share/mpo

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
