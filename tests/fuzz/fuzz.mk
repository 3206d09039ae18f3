## The fuzz targets, built with clang's libFuzzer under ASan and UBSan into
## their own directory (tests/fuzz/run calls: make -f fuzz.mk TOP=... -C build-fuzz).
## The core files they use are compiled once more with coverage
## instrumentation into libbgcore_fuzz.a.
TOP ?= ../..
CXX := clang++
SRC := $(TOP)/mod_backgrounder
FUZZ := $(TOP)/tests/fuzz
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
APR_CPPFLAGS := $(shell apr-1-config --cppflags --includes) $(shell apu-1-config --includes)
APR_LIBS := $(shell apu-1-config --link-ld --libs) $(shell apr-1-config --link-ld --libs)
CXXFLAGS := -std=c++17 -g -O1 -Wall -Wextra -Wno-missing-field-initializers $(SAN)
CPPFLAGS := -I$(SRC) -I$(FUZZ) $(APR_CPPFLAGS) $(shell curl-config --cflags) \
	-DBG_DEFAULT_STORE_PATH='"/nowhere"' -DBG_VERSION='"fuzz"'

# The core files the targets link (not the scheduler, runners or store, to
# keep CI's build short). A target that needs another shows it as a link
# error: add the file here.
CORE_FILES := bg_argv bg_calendar bg_cron bg_csrf bg_db_connector bg_directives bg_duration bg_env bg_job_env bg_job_spec \
	bg_metrics bg_output bg_preview bg_redact bg_run bg_run_outcome bg_sql_dialect bg_sql_job bg_sql_template \
	bg_status_gather bg_status_page
CORE := $(CORE_FILES:%=core/%.o)
TARGETS := $(patsubst $(FUZZ)/fuzz_%.cpp,fuzz_%,$(wildcard $(FUZZ)/fuzz_*.cpp))

all: $(TARGETS)

core/%.o: $(SRC)/%.cpp
	@mkdir -p core
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

libbgcore_fuzz.a: $(CORE)
	rm -f $@
	ar rcs $@ $^

fuzz_%.o: $(FUZZ)/fuzz_%.cpp
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

fuzz_%: fuzz_%.o libbgcore_fuzz.a
	$(CXX) $(CXXFLAGS) -fsanitize=fuzzer -o $@ $< libbgcore_fuzz.a $(APR_LIBS) -lcctz -ldl -lpthread

.PHONY: all
.SECONDARY:
-include core/*.d *.d
