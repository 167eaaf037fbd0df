#!/bin/sh
# Installs an asicd release onto a controller in one command: the asicd user (group dialout), /opt/asicd, the config
# in /etc/asicd (kept if present), state in /var/lib/asicd, the systemd unit and udev rules, then enables the service.
#
#   sudo ./install.sh asicd-0.1.0-linux-arm64.tar.gz     # from a tarball made by `make dist`
#   sudo asicd/install.sh                                # from an unpacked release
#
# Options:
#   --no-start   enable the service but do not (re)start it
#   --root DIR   lay everything out under DIR (an image being built, or a test): no user is created and nothing
#                is started; the service is enabled with systemctl --root
set -eu

die() { echo "install.sh: $*" >&2; exit 1; }

start=yes
root=
src=
while [ $# -gt 0 ]; do
  case "$1" in
    --no-start) start=no ;;
    --root) [ $# -ge 2 ] || die "--root needs a folder"; root=$(cd "$2" && pwd) || die "no folder $2"; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$src" ] || die "one tarball at a time"; src=$1 ;;
  esac
  shift
done

[ -n "$root" ] || [ "$(id -u)" = 0 ] || die "run as root (sudo $0 …)"

work=
cleanup() { [ -z "$work" ] || rm -rf "$work"; }
trap cleanup EXIT INT TERM

# The release folder: the unpacked tarball, or the folder this script sits in
if [ -n "$src" ]; then
  [ -f "$src" ] || die "no tarball $src"
  work=$(mktemp -d)
  tar -xzf "$src" -C "$work" || die "$src is not a release tarball"
  rel="$work/asicd"
else
  rel=$(cd "$(dirname "$0")" && pwd)
fi
[ -f "$rel/bin/asicd.js" ] && [ -f "$rel/systemd/asicd.service" ] || die "$rel does not hold an asicd release"
version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$rel/package.json" | head -n 1)
[ -n "$version" ] || die "no version in $rel/package.json"

# A tarball for another architecture would fail on its native serial binding: refuse it up front
if [ -f "$rel/TARGET" ] && [ -z "$root" ]; then
  target=$(cat "$rel/TARGET")
  case "$(uname -m)" in
    aarch64|arm64) here=linux-arm64 ;;
    armv7l|armv8l) here=linux-armv7 ;;
    x86_64|amd64) here=linux-x64 ;;
    *) here=unknown ;;
  esac
  [ "$target" = "$here" ] || die "this release is for $target, this machine is $(uname -m) ($here)"
fi

node=$(command -v node || true)
if [ -z "$root" ]; then
  [ -n "$node" ] || die "Node.js 20 or later is needed (apt-get install nodejs)"
  major=$("$node" -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || die "Node.js $("$node" --version) is too old: asicd needs 20 or later"
fi

# The service user: no login, no home of its own beyond the state folder; dialout opens the chain UARTs
if [ -z "$root" ]; then
  if ! getent passwd asicd >/dev/null; then
    useradd --system --user-group --groups dialout --home-dir /var/lib/asicd --no-create-home \
      --shell /usr/sbin/nologin asicd
    echo "created user asicd"
  fi
  owner=asicd:asicd
fi

# Code: each version in its own folder, /opt/asicd points at the current one (an upgrade switches in one step)
mkdir -p "$root/opt"
dest="$root/opt/asicd-$version"
rm -rf "$dest.new"
cp -a "$rel" "$dest.new"
rm -rf "$dest"
mv "$dest.new" "$dest"
ln -sfn "asicd-$version" "$root/opt/asicd"

# Config: written once, never overwritten; the daemon rewrites it itself on runtime pool changes
mkdir -p "$root/etc/asicd" "$root/var/lib/asicd"
chmod 0750 "$root/etc/asicd"
chmod 0700 "$root/var/lib/asicd"
fresh_config=no
if [ ! -f "$root/etc/asicd/asicd.toml" ]; then
  install -m 0600 "$rel/config/asicd.toml" "$root/etc/asicd/asicd.toml"
  fresh_config=yes
fi
if [ -n "${owner:-}" ]; then
  chown "$owner" "$root/etc/asicd" "$root/etc/asicd/asicd.toml" "$root/var/lib/asicd"
fi

# Unit and udev rules; the unit names /usr/bin/node, so point it at this machine's node if that lives elsewhere
mkdir -p "$root/etc/systemd/system" "$root/etc/udev/rules.d"
if [ -n "$node" ] && [ -z "$root" ] && [ "$node" != /usr/bin/node ]; then
  sed "s|/usr/bin/node |$node |g" "$rel/systemd/asicd.service" >"$root/etc/systemd/system/asicd.service"
  chmod 0644 "$root/etc/systemd/system/asicd.service"
else
  install -m 0644 "$rel/systemd/asicd.service" "$root/etc/systemd/system/asicd.service"
fi
install -m 0644 "$rel/systemd/90-asicd.rules" "$root/etc/udev/rules.d/90-asicd.rules"

if [ -n "$root" ]; then
  systemctl --root="$root" enable asicd.service >/dev/null 2>&1 ||
    { mkdir -p "$root/etc/systemd/system/multi-user.target.wants" &&
      ln -sfn /etc/systemd/system/asicd.service "$root/etc/systemd/system/multi-user.target.wants/asicd.service"; }
  echo "asicd $version laid out under $root (enabled, not started)"
  exit 0
fi

if command -v udevadm >/dev/null; then
  udevadm control --reload || true
  udevadm trigger --subsystem-match=spidev --subsystem-match=hwmon || true
fi
systemctl daemon-reload
systemctl enable asicd.service

if [ "$fresh_config" = yes ]; then
  echo "asicd $version installed. Set your pools and boards in /etc/asicd/asicd.toml, check it with"
  echo "  /opt/asicd/bin/asicd.js config check /etc/asicd/asicd.toml"
  echo "then: systemctl start asicd && journalctl -u asicd -f"
elif [ "$start" = yes ]; then
  "$node" /opt/asicd/bin/asicd.js config check /etc/asicd/asicd.toml || die "fix /etc/asicd/asicd.toml, then: systemctl restart asicd"
  systemctl restart asicd.service
  echo "asicd $version installed and (re)started: journalctl -u asicd -f"
else
  echo "asicd $version installed and enabled (not started)"
fi
