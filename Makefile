.PHONY: all build test lint bench dist demo clean docs

all: build

node_modules: package-lock.json
	npm install --no-audit --no-fund
	touch node_modules

build: node_modules
	npm run build

test: node_modules
	npm test

lint: node_modules
	npm run lint

docs: node_modules
	npm run docs

bench: build
	for b in bench/*.ts; do node --import tsx "$$b" || exit 1; done

demo: build
	node bin/asicd.js demo

# Tarballs to copy onto a controller, one per architecture: built code, production dependencies with the native
# serialport binding of that architecture only, config, systemd unit, udev rules, install.sh and docs.
# `make dist TARGETS=linux-arm64` builds one. spi-device's binding (the board MCUs' SPI) is compiled on x64 by npm
# install; for the ARM tarballs it is cross-compiled here with Debian's cross compilers (g++-aarch64-linux-gnu,
# g++-arm-linux-gnueabihf) and node-gyp against the headers of the Node.js that runs make (an addon is tied to the
# Node major it was built for: build with Node 20 for Node 20 controllers).
VERSION = $(shell node -p 'require("./package.json").version')
# Headers: include/node/ beside the running node's bin/ (official tarballs and NodeSource packages ship them), or an
# unpacked node-vX-headers tarball: make dist NODE_DIR=...
NODE_DIR ?= $(shell node -p 'require("path").resolve(require("fs").realpathSync(process.execPath), "../..")')
# npm's own node-gyp
NODE_GYP ?= $(shell npm prefix -g)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
TARGETS ?= linux-x64 linux-arm64 linux-armv7
PREBUILD_linux-x64 = linux-x64
PREBUILD_linux-arm64 = linux-arm64
PREBUILD_linux-armv7 = linux-arm

dist: node_modules
	rm -rf dist .dist && npm run build
	mkdir -p .dist/base/asicd
	cp -r bin dist config systemd docs install.sh package.json package-lock.json README.md .dist/base/asicd/
	rm -f .dist/base/asicd/config/asicd.service
	cd .dist/base/asicd && npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
	set -e; for t in $(TARGETS); do \
	  rm -rf .dist/$$t && cp -a .dist/base .dist/$$t; \
	  pre=.dist/$$t/asicd/node_modules/@serialport/bindings-cpp/prebuilds; \
	  keep=$$(case $$t in linux-x64) echo linux-x64;; linux-arm64) echo linux-arm64;; linux-armv7) echo linux-arm;; *) echo "unknown target $$t" >&2; exit 1;; esac); \
	  find $$pre -mindepth 1 -maxdepth 1 ! -name $$keep -exec rm -rf {} +; \
	  if [ $$t = linux-armv7 ]; then find $$pre -name '*armv6*' -delete; fi; \
	  case $$t in linux-arm64) triple=aarch64-linux-gnu; arch=arm64;; linux-armv7) triple=arm-linux-gnueabihf; arch=arm;; *) triple=;; esac; \
	  if [ -n "$$triple" ]; then \
	    command -v $$triple-g++ >/dev/null || { echo "make dist: $$t needs $$triple-g++ for spi-device: apt-get install g++-$$triple" >&2; exit 1; }; \
	    [ -f "$(NODE_DIR)/include/node/common.gypi" ] || { echo "make dist: no Node.js headers in $(NODE_DIR)/include/node (set NODE_DIR)" >&2; exit 1; }; \
	    spi=.dist/$$t/asicd/node_modules/spi-device; \
	    (cd $$spi && CC=$$triple-gcc CXX=$$triple-g++ LINK=$$triple-g++ AR=$$triple-ar \
	      node "$(NODE_GYP)" rebuild --arch=$$arch --nodedir="$(NODE_DIR)" --loglevel=error >/dev/null); \
	    mv $$spi/build/Release/spi.node .dist/spi.node && rm -rf $$spi/build; \
	    mkdir -p $$spi/build/Release && mv .dist/spi.node $$spi/build/Release/spi.node; \
	    file $$spi/build/Release/spi.node | sed 's|^.*/node_modules/|  |'; \
	  fi; \
	  if [ $$t = linux-x64 ] && [ "$$(node -p process.arch)" = x64 ] && [ -f node_modules/spi-device/build/Release/spi.node ]; then \
	    mkdir -p .dist/$$t/asicd/node_modules/spi-device/build/Release; \
	    cp node_modules/spi-device/build/Release/spi.node .dist/$$t/asicd/node_modules/spi-device/build/Release/; \
	  fi; \
	  echo $$t > .dist/$$t/asicd/TARGET; \
	  tar -C .dist/$$t -czf asicd-$(VERSION)-$$t.tar.gz asicd; \
	  echo "asicd-$(VERSION)-$$t.tar.gz"; \
	done
	rm -rf .dist

clean:
	rm -rf dist .dist asicd-*.tar.gz
