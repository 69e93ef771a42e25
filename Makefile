# Portcullis developer entry points. `make run` and `make test` are the README's quick start.
BUILD_RELEASE := build/release
BUILD_TEST    := build/test
CMAKE_GEN     := -G Ninja
PORT          ?= 8443

.PHONY: deps build build-test run test docs format clean

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

docs: build
	$(BUILD_RELEASE)/portcullis denials --markdown > docs/denials.md

format:
	find src tests -name '*.h' -o -name '*.cpp' | xargs clang-format -i

clean:
	rm -rf build
