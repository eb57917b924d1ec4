#!/usr/bin/env bash
# Builds the Trent node image (default tag trent:latest) from our own static trentd binary.
#
#   ./scripts/build-image.sh                # builds trentd + trent statically, then the image
#   TRENT_IMAGE=trent:dev ./scripts/build-image.sh
#
# 1. Compiles a static glibc release build of `trentd` and `trent`:
#      RUSTFLAGS="-C target-feature=+crt-static" \
#        cargo build --release --target x86_64-unknown-linux-gnu --bin trentd --bin trent
#    into CARGO_TARGET_DIR (default target/static, so the normal dev build's cache in target/
#    is never invalidated by the different RUSTFLAGS). The binaries end up in
#    $CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/{trentd,trent}; `trent` is the operator
#    CLI for the host and is not put in the image.
# 2. Assembles a tiny build context in a temporary directory (never the repository, so
#    .dockerignore does not matter): docker/Dockerfile, the trentd binary, an empty /data owned
#    by uid 10001, a /tmp and an /etc/nsswitch.conf. The copy of trentd is stripped.
# 3. `docker build`s it FROM scratch (nothing is pulled) and prints the image size.
#
# Environment:
#   TRENT_IMAGE       image tag                     (default trent:latest)
#   CARGO_TARGET_DIR  cargo target directory        (default target/static)
#   TRENT_STRIP=0     keep the symbol table in the image's trentd (default: strip the copy;
#                     the binary in the target directory is never changed)
#   CARGO_BUILD_JOBS  passed through to cargo, as usual
set -euo pipefail
cd "$(dirname "$0")/.."

image=${TRENT_IMAGE:-trent:latest}
target=x86_64-unknown-linux-gnu
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/static}
release_dir="$CARGO_TARGET_DIR/$target/release"

echo "==> cargo build (static glibc, release) into $CARGO_TARGET_DIR"
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release --target "$target" --bin trentd --bin trent

binary="$release_dir/trentd"
# A dynamically linked binary cannot run in a scratch image: refuse it here rather than let
# the container fail with a confusing "no such file or directory".
if command -v file >/dev/null; then
  description=$(file -b "$binary")
  case "$description" in
    *"dynamically linked"*) echo "error: $binary is dynamically linked: $description" >&2; exit 1 ;;
  esac
  echo "    $binary: $description"
fi
version=$("$binary" --version | awk '{print $2}')

context=$(mktemp -d "${TMPDIR:-/tmp}/trent-image.XXXXXX")
trap 'rm -rf "$context"' EXIT
echo "==> build context in $context"
cp docker/Dockerfile "$context/Dockerfile"
cp "$binary" "$context/trentd"
chmod 0755 "$context/trentd"
# The symbol table is a fifth of the binary; panic messages keep their file:line without it.
if [ "${TRENT_STRIP:-1}" != 0 ] && command -v strip >/dev/null; then
  strip "$context/trentd"
fi
# root/ is copied to / as it is (root-owned), node/ to / owned by uid 10001: copying a
# directory's contents keeps the modes of its entries, not of the directory itself.
mkdir -p "$context/root/etc" "$context/root/tmp" "$context/node/data"
chmod 1777 "$context/root/tmp"
chmod 0700 "$context/node/data"
# Without nsswitch.conf glibc asks DNS before /etc/hosts; say files first, like any distro.
printf 'hosts: files dns\n' >"$context/root/etc/nsswitch.conf"
chmod 0755 "$context/root" "$context/root/etc" "$context/node"
chmod 0644 "$context/root/etc/nsswitch.conf"

echo "==> docker build -t $image (trentd $version)"
previous=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
docker build --tag "$image" --build-arg "TRENT_VERSION=$version" "$context"
# Drop the image this tag pointed at before, unless a container or another tag still uses it.
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$image")" ]; then
  docker image rm "$previous" >/dev/null 2>&1 || true
fi

size=$(docker image inspect --format '{{.Size}}' "$image")
echo "==> built $image: trentd $version, $(awk -v b="$size" 'BEGIN { printf "%.1f MB (%d bytes)", b / 1000000, b }')"
