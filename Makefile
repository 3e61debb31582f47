# Thin wrapper around CMake. `make test` and `make demo` work on a fresh
# Debian 12 machine as root: both install what they need first.
BUILD ?= build
JOBS ?= 2
PREFIX ?= /usr/local
DESTDIR ?=
CMAKE_FLAGS ?=

.PHONY: all deps configure build test unit e2e interop fuzz asan bench demo demo-down install clean

all: build

deps:
	@bash scripts/install-deps.sh

# kgctl is linked statically (KILO_STATIC_KGCTL=ON, CMake's default) when simdjson's
# source could be fetched; otherwise -DKILO_STATIC_KGCTL=OFF, with the reason printed.
# Likewise kg's C++ runtime and prometheus-cpp (KILO_STATIC_KG, which needs the static
# kgctl's libraries too) with prometheus-cpp's source. A KILO_STATIC_KGCTL or
# KILO_STATIC_KG in CMAKE_FLAGS decides instead. CMake's own messages are shown
# (scripts/configure.sh leaves out only its routine lines).
configure: deps
	@case "$(CMAKE_FLAGS)" in *KILO_STATIC_KGCTL=*) static= ;; \
	  *) static=$$(bash scripts/fetch-simdjson-source.sh --cmake-flag) ;; esac; \
	case "$(CMAKE_FLAGS) $$static" in *KILO_STATIC_KG=*) kg= ;; \
	  *KILO_STATIC_KGCTL=OFF*) kg=-DKILO_STATIC_KG=OFF ;; \
	  *) kg=$$(bash scripts/fetch-prometheus-source.sh --cmake-flag) ;; esac; \
	bash scripts/configure.sh $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $$static $$kg $(CMAKE_FLAGS)

build: configure
	@t=$$(date +%s); cmake --build $(BUILD) -j$(JOBS) && echo "== build $(BUILD) took $$(($$(date +%s) - t)) s"

# Every test: unit, golden, integration, emulator/kubectl, e2e, fuzz (bounded).
test: build
	@bash scripts/test.sh $(BUILD)

# Only the virtual-cluster end-to-end suite.
e2e: build
	@cd $(BUILD) && ctest -L e2e --output-on-failure

# Interoperability with Kilo's Go agent: KILO_GO_KG=/path/to/go/kg make interop
# (without KILO_GO_KG every test is reported as skipped, with the reason).
interop: build
	@[ -n "$$KILO_GO_KG" ] || echo "interop: KILO_GO_KG not set: the Go agent is needed (CI has no source to build it from); every interop test is skipped"
	@cd $(BUILD) && ctest -L interop --output-on-failure

# The fuzz targets (built in build-asan, the sanitizer build), SECONDS each.
fuzz: deps
	@JOBS=$(JOBS) bash tests/fuzz/run.sh $(or $(SECONDS),20)

# The sanitizer stage of `make test` alone: build-asan (clang, ASan+UBSan+LSan, with the
# fuzz targets), its unit/integration/golden tests and the kg leak run (tests/sanitize/run.sh).
asan: deps
	@JOBS=$(JOBS) bash tests/sanitize/run.sh build-asan

bench: deps
	@bash bench/run.sh

demo: build
	@bash scripts/demo.sh $(BUILD)

demo-down:
	@bash scripts/demo.sh --down

install: build
	@install -d $(DESTDIR)$(PREFIX)/bin
	@install -m 0755 $(BUILD)/bin/kgctl $(DESTDIR)$(PREFIX)/bin/kgctl
	@install -m 0755 $(BUILD)/bin/kgctl-full $(DESTDIR)$(PREFIX)/bin/kgctl-full
	@if [ -x $(BUILD)/bin/kg ]; then install -m 0755 $(BUILD)/bin/kg $(DESTDIR)$(PREFIX)/bin/kg; fi
	@ln -sf kgctl $(DESTDIR)$(PREFIX)/bin/kubectl-kilo

clean:
	@rm -rf $(BUILD) build-asan build-fuzz build-bench
