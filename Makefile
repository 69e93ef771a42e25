# Portcullis developer entry points. `make run` and `make test` are the README's quick start.
BUILD_RELEASE := build/release
BUILD_TEST    := build/test
BUILD_BENCH   := build/bench
BUILD_BENCH_RELEASE := build/bench-release
CMAKE_GEN     := -G Ninja
PORT          ?= 8443

.PHONY: deps build build-test run test conformance bench bench-build bench-micro docs format clean

deps:
	scripts/install-deps

build: deps
	cmake -S . -B $(BUILD_RELEASE) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD_RELEASE)

build-test: deps
	cmake -S . -B $(BUILD_TEST) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug \
	  -DPORTCULLIS_SANITIZE=ON -DPORTCULLIS_WERROR=ON
	cmake --build $(BUILD_TEST)

run: build
	$(BUILD_RELEASE)/portcullis demo --dir $(BUILD_RELEASE)/demo --port $(PORT)

test: build-test
	cd $(BUILD_TEST) && ctest --output-on-failure --timeout 600

# The full x509-limbo client subset through `portcullis verify`, with the gateway's settings and
# with --strict (`make test` runs a fast sample). Results: docs/conformance.md.
conformance: build-test
	/usr/bin/python3 tests/conformance/run_limbo.py --bin $(BUILD_TEST)/portcullis
	/usr/bin/python3 tests/conformance/run_limbo.py --bin $(BUILD_TEST)/portcullis --strict

# Side-by-side mTLS benchmark against nginx, HAProxy and Caddy (bench/README.md): installs the
# peers, builds Portcullis, the load generator, the upstream and the floor proxy (Release), runs
# 3 alternating rounds and writes bench/results.md. Extra flags: make bench BENCH_RUN_ARGS="--rounds 1"
bench-build: deps
	bench/install-deps
	cmake -S . -B $(BUILD_BENCH_RELEASE) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release \
	  -DPORTCULLIS_BENCH=ON -DPORTCULLIS_TESTS=OFF
	cmake --build $(BUILD_BENCH_RELEASE) --target portcullis portcullis_loadgen \
	  portcullis_bench_upstream portcullis_bench_floor

bench: bench-build
	/usr/bin/python3 bench/run.py --build $(BUILD_BENCH_RELEASE) $(BENCH_RUN_ARGS)

# Micro-benchmarks (Google Benchmark, Release, never part of `make test`): JWT verification per
# algorithm, and the request's hot paths (parse + route, denial rendering, access-log line,
# verdict mapping). Extra flags: make bench-micro BENCH_ARGS=--benchmark_filter=ES256
BENCH_MICRO := portcullis_bench_jwt portcullis_bench_pipeline
bench-micro: deps
	cmake -S . -B $(BUILD_BENCH) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DPORTCULLIS_BENCH=ON \
	  -DPORTCULLIS_TESTS=OFF
	cmake --build $(BUILD_BENCH) --target $(BENCH_MICRO)
	for b in $(BENCH_MICRO); do $(BUILD_BENCH)/bench/$$b $(BENCH_ARGS) || exit 1; done

docs: build
	$(BUILD_RELEASE)/portcullis denials --markdown > docs/denials.md
	$(BUILD_RELEASE)/portcullis explain --markdown > docs/troubleshooting.md

format:
	find src tests -name '*.h' -o -name '*.cpp' | xargs clang-format -i

clean:
	rm -rf build
