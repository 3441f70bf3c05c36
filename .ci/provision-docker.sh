#!/usr/bin/env bash
# Provision real Docker engines on a CI machine that has none (see
# ../shared/docs/docker-on-ci-machines.md), each with a local base image (no container
# registry is reachable, so base images are made with debootstrap/mmdebstrap and loaded):
#   - Debian 12: Debian's docker.io (20.10 engine + CLI with built-in BuildKit) with dockerd in
#     the background, as before; and beside it a modern engine: Debian 13's docker.io 26.1,
#     docker-cli, docker-buildx, containerd (unpacked beside bookworm, not installed), its
#     dockerd with its own state, socket, containerd and bridge, and the containerd image store;
#   - Debian 13: only the modern engine (from Debian's packages); DOCKER_HOST and
#     SANDBOX_DOCKER_CLI then point at it too (and SANDBOX_TEST_BASE_IMAGE is two-platform);
#   - arm64 by emulation (qemu-user-static, binfmt-support) and an arm64 base image
#     (mmdebstrap, 1.5 to 4.5 min the first time; the rootfs tarballs are cached in
#     $SANDBOX_DOCKER_STATE/cache);
#   - Compose v2 (Debian 13's docker-compose);
#   - a container registry: Debian's docker-registry (distribution 2.8) on 127.0.0.1, its
#     config, storage, log and pid under $SANDBOX_DOCKER_STATE/registry, and skopeo to read it;
#     every engine may push to it over plain HTTP (Docker allows 127.0.0.0/8 by default);
#   - Podman, the second engine users run (provision-podman.sh: Debian's podman, rootful, its
#     configuration and storage under $SANDBOX_DOCKER_STATE/podman, the registry marked
#     insecure there, the amd64 base image loaded). SANDBOX_PODMAN=0 skips it.
# Prints `export` lines to stdout; logs go to stderr. Idempotent: what is there is skipped.
#   DOCKER_HOST / SANDBOX_DOCKER_CLI / SANDBOX_TEST_BASE_IMAGE   the 20.10 engine (12) and its
#                                                 CLI, the amd64 base image in it
#   SANDBOX_COMPOSE                               Compose v2
#   SANDBOX_MODERN_DOCKER_HOST / _CLI / _CONFIG   the modern engine, its 26.1 CLI, and the
#                                                 DOCKER_CONFIG dir whose cli-plugins/ holds
#                                                 buildx and compose (give it to that CLI only:
#                                                 a 20.10 CLI that sees buildx uses it)
#   SANDBOX_TEST_BASE_IMAGE_ARM64                 the arm64 base image (modern engine; there
#                                                 SANDBOX_TEST_BASE_IMAGE has amd64 and arm64)
#   SANDBOX_TEST_BASE_TAR_AMD64 / _ARM64          the cached rootfs tarballs of both bases; a
#       fresh engine gets the very same images (same IDs, so imported build cache hits) with
#       `python3 .ci/base_image.py write NAME amd64=TAR [arm64=TAR] | docker load`
#   SANDBOX_TEST_REGISTRY                         the registry, 127.0.0.1:PORT; PORT is chosen free
#                                                 once and kept (registry/port), or fixed by
#                                                 SANDBOX_TEST_REGISTRY_PORT
#   SANDBOX_PODMAN                                the podman binary (tests/docker/test_podman.py)
#   CONTAINERS_CONF / _STORAGE_CONF / _REGISTRIES_CONF   Podman's configuration under the state dir
# Options:
#   --compose-only   only Compose (an engine already answers); prints only SANDBOX_COMPOSE
# SANDBOX_MODERN_DOCKER=0 skips the modern engine and arm64 on Debian 12.
set -euo pipefail

state_dir=${SANDBOX_DOCKER_STATE:-/tmp/sandbox-ci-docker}
base_image=${SANDBOX_TEST_BASE_IMAGE:-local/debian:bookworm}
sock="$state_dir/docker.sock"
mkdir -p "$state_dir"

log() { printf '[provision-docker] %s\n' "$*" >&2; }

compose_only=0
case "${1:-}" in
  '') ;;
  --compose-only) compose_only=1 ;;
  *) log "usage: provision-docker.sh [--compose-only]"; exit 2 ;;
esac
debian_major=$(cut -d. -f1 /etc/debian_version 2>/dev/null || true)

# The Debian mirror apt on this machine already uses (no other host is reachable).
apt_mirror() {
  local mirror
  mirror=$(grep -rhoE '^(deb|URIs:)[^#]*https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
    | grep -oE "https?://[^ ]+" | grep -E "/debian/?$" | head -n1 || true)
  printf '%s\n' "${mirror:-http://deb.debian.org/debian}"
}

# fetch_trixie PKG...: unpack Debian 13's PKGs into $trixie_root, each once, without installing
# them (that would pull in trixie's libc): apt gets a private source list, list dir and cache.
trixie_root="$state_dir/trixie"
fetch_trixie() {
  local apt_dir="$state_dir/apt-trixie" pkg debs missing=()
  mkdir -p "$trixie_root/.fetched" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
  exec 9>"$apt_dir/lock"
  flock 9   # another run fetching at the same time
  for pkg in "$@"; do [ -e "$trixie_root/.fetched/$pkg" ] || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    local apt_opts=(-qq -o Dir::Etc::sourcelist="$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
      -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" -o APT::Sandbox::User=root)
    printf 'deb %s trixie main\n' "$(apt_mirror)" >"$apt_dir/sources.list"
    log "fetching trixie's ${missing[*]} into $trixie_root (unpacked, not installed)"
    apt-get "${apt_opts[@]}" update >&2
    rm -f "$apt_dir/debs/"*.deb
    (cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download "${missing[@]}") >&2
    for pkg in "${missing[@]}"; do
      debs=("$apt_dir/debs/${pkg}_"*.deb)
      dpkg -x "${debs[0]}" "$trixie_root"
      dpkg-deb -f "${debs[0]}" Version >"$trixie_root/.fetched/$pkg"
    done
    rm -f "$apt_dir/debs/"*.deb
  fi
  exec 9>&-
}

# Compose v2: Debian 13 has it as a package; on Debian 12 trixie's (2.26) runs as it is
# (it needs GLIBC 2.34 at most).
if [ "$debian_major" = 13 ]; then
  if ! dpkg -s docker-compose >/dev/null 2>&1; then
    log "installing docker-compose"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq docker-compose >&2
  fi
  compose=$(dpkg -L docker-compose | grep -E '/bin/docker-compose$' | head -n1)
else
  fetch_trixie docker-compose
  compose="$trixie_root/usr/bin/docker-compose"
fi
"$compose" version >&2 || { log "$compose does not run here"; exit 1; }
if [ "$compose_only" = 1 ]; then
  printf 'export SANDBOX_COMPOSE=%q\n' "$compose"
  exit 0
fi

modern=${SANDBOX_MODERN_DOCKER:-1}
[ "$debian_major" = 13 ] && modern=1   # the only engine there

need_pkgs=()
need() { dpkg -s "$1" >/dev/null 2>&1 || need_pkgs+=("$1"); }
need docker.io      # Debian 12: the 20.10 engine (and bookworm's runc for the modern one)
need debootstrap
need docker-registry   # the test registry (below)
need skopeo            # the tests read what was pushed with it, not with the engine that pushed
need gnupg             # `sandbox build --sign-by` and `sandbox verify --key`: the keys skopeo signs with
if [ "$modern" = 1 ]; then
  need qemu-user-static; need binfmt-support; need mmdebstrap
  [ "$debian_major" = 13 ] && { need docker-buildx; need docker-compose; }
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${need_pkgs[@]}" >&2
fi

# wait_engine CLI SOCK LOG: poll until the engine on SOCK answers (60 s at most).
wait_engine() {
  for _ in $(seq 1 60); do
    "$1" -H "unix://$2" version >/dev/null 2>&1 && return 0
    sleep 1
  done
  log "dockerd on $2 did not answer"; tail -n 30 "$3" >&2; return 1
}

# Base images: rootfs tarballs made once and cached, loaded into each engine through
# base_image.py, which makes the same image (same ID) from the same tarballs every time: unlike
# `docker import`, whose time stamp gives every engine and every run a new ID, so that build
# cache exported from one engine missed in another.
ci_dir=$(cd "$(dirname "$0")" && pwd)
cache_dir="$state_dir/cache"
base_tar_amd64="$cache_dir/debian-bookworm-amd64.tar"
base_tar_arm64="$cache_dir/debian-bookworm-arm64.tar"
base_image_arm64=${SANDBOX_TEST_BASE_IMAGE_ARM64:-local/debian:bookworm-arm64}
mkdir -p "$cache_dir"
base_tarball_amd64() {
  [ -s "$base_tar_amd64" ] && return 0
  local rootfs="$state_dir/rootfs" mirror
  mirror=$(apt_mirror)
  log "debootstrap bookworm from $mirror (about 30 s)"
  rm -rf --one-file-system "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >&2
  tar -C "$rootfs" -cf "$base_tar_amd64.part" .
  mv "$base_tar_amd64.part" "$base_tar_amd64"
  rm -rf --one-file-system "$rootfs"
}
base_tarball_arm64() {
  [ -s "$base_tar_arm64" ] && return 0
  local mirror
  mirror=$(apt_mirror)
  log "mmdebstrap arm64 bookworm from $mirror (1.5 to 4.5 min, emulated)"
  # --format=tar: the .part name would otherwise make mmdebstrap build a directory
  mmdebstrap --quiet --format=tar --variant=minbase --architectures=arm64 bookworm \
    "$base_tar_arm64.part" "$mirror" >&2
  mv "$base_tar_arm64.part" "$base_tar_arm64"
}
# load_base CLI SOCK containerd|classic NAME ARCH=TARBALL...: load NAME (several ARCHs: one
# multi-platform index) unless the engine has exactly that image already
load_base() {
  local cli=$1 sock=$2 store=$3 name=$4 want have
  shift 4
  want=$(python3 "$ci_dir/base_image.py" "id-$store" "$name" "$@")
  have=$("$cli" -H "unix://$sock" image inspect --format '{{.Id}}' "$name" 2>/dev/null || true)
  [ "$have" = "$want" ] && return 0
  log "loading $name ($*) into the engine on $sock"
  python3 "$ci_dir/base_image.py" write "$name" "$@" | "$cli" -H "unix://$sock" load >&2
}

# arm64 by emulation: binfmt_misc must be mounted (it is not always) for update-binfmts to
# register qemu-aarch64 (flag F: the interpreter is opened now, so it works in containers).
arm64_emulation() {
  local bm=/proc/sys/fs/binfmt_misc
  [ -e "$bm/qemu-aarch64" ] && return 0
  [ -e "$bm/register" ] || mount -t binfmt_misc binfmt_misc "$bm"
  update-binfmts --enable qemu-aarch64 >&2
  [ -e "$bm/qemu-aarch64" ] || { log "qemu-aarch64 is not registered in $bm"; return 1; }
}

# Networks. Two dockerds that manage iptables flush each other's DOCKER chains, and two on one
# bridge hand out the same addresses. So every engine started here except the 20.10 engine of
# the default state dir (Docker's defaults, as before: docker0, its own iptables rules) runs
# with --iptables=false on a bridge of its own, in this state dir's block 10.(200+N).0.0/16
# (N < 16, claimed by creating bridge sbxNm whose alias names the state dir): the modern
# engine on sbxNm 10.(200+N).0.1/24 with user networks from 10.(200+N).128.0/18, a 20.10 engine
# on sbxNo 10.(200+N).1.1/24 with 10.(200+N).64.0/18. Their NAT and FORWARD rules (the
# host's FORWARD policy is DROP) are added here; nothing of another engine's is touched.
net_n=
net_block() {
  [ -n "$net_n" ] && return 0
  local n link free=
  exec 8>/tmp/.sandbox-ci-docker-net.lock
  flock 8
  for n in $(seq 0 15); do
    if ! link=$(ip -o link show "sbx${n}m" 2>/dev/null); then
      [ -n "$free" ] || free=$n
    elif [ "${link##* alias }" = "$state_dir" ]; then
      net_n=$n
      break
    fi
  done
  if [ -z "$net_n" ]; then
    [ -n "$free" ] || { log "no free network block: bridges sbx0m..sbx15m are all taken"; return 1; }
    net_n=$free
    ip link add name "sbx${net_n}m" type bridge
    ip link set dev "sbx${net_n}m" alias "$state_dir"
  fi
  exec 8>&-
  local net="10.$((200 + net_n)).0.0/16"
  iptables -t nat -C POSTROUTING -s "$net" ! -d "$net" -j MASQUERADE 2>/dev/null \
    || iptables -t nat -A POSTROUTING -s "$net" ! -d "$net" -j MASQUERADE
  iptables -C FORWARD -s "$net" -j ACCEPT 2>/dev/null \
    || iptables -I FORWARD -s "$net" -j ACCEPT
  iptables -C FORWARD -d "$net" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT 2>/dev/null \
    || iptables -I FORWARD -d "$net" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
}
# engine_net m|o: sets net_opts, the dockerd options for that engine's bridge and networks
net_opts=()
engine_net() {
  net_block
  local br="sbx${net_n}$1" x=$((200 + net_n)) sub
  if [ "$1" = m ]; then sub=0; else sub=1; fi
  ip link show "$br" >/dev/null 2>&1 || ip link add name "$br" type bridge
  case "$(ip -o addr show dev "$br")" in   # (not `| grep -q`: under pipefail a match can fail)
    *" 10.$x.$sub.1/24 "*) ;;
    *) ip addr add "10.$x.$sub.1/24" dev "$br" ;;
  esac
  ip link set "$br" up
  if [ "$1" = m ]; then sub=128; else sub=64; fi
  net_opts=(--bridge "$br" --default-address-pool "base=10.$x.$sub.0/18,size=24" --iptables=false)
}

# The modern engine: dockerd 26.1 with the containerd image store, its own data root, exec root
# (so the containerd that dockerd starts is its own too), socket, pidfile and bridge.
modern_dir="$state_dir/modern"
modern_sock="$modern_dir/docker.sock"
modern_config="$modern_dir/config"        # DOCKER_CONFIG for the modern CLI only
start_modern() {
  local bin_dir=$1 plugin_dir=$2 cli=$3
  mkdir -p "$modern_dir" "$modern_config/cli-plugins"
  ln -sfn "$plugin_dir/docker-buildx" "$modern_config/cli-plugins/docker-buildx"
  ln -sfn "$compose" "$modern_config/cli-plugins/docker-compose"
  "$cli" -H "unix://$modern_sock" version >/dev/null 2>&1 && return 0
  engine_net m
  printf '{"features": {"containerd-snapshotter": true}}\n' >"$modern_dir/daemon.json"
  log "starting dockerd 26 (data root $modern_dir/data, socket $modern_sock, bridge ${net_opts[1]})"
  rm -f "$modern_dir/docker.pid"
  # PATH: its containerd, shim and docker-proxy first; runc and docker-init from bookworm
  PATH="$bin_dir:$PATH" nohup dockerd --config-file "$modern_dir/daemon.json" \
    --data-root "$modern_dir/data" --exec-root "$modern_dir/exec" \
    -H "unix://$modern_sock" --pidfile "$modern_dir/docker.pid" "${net_opts[@]}" \
    >"$modern_dir/dockerd.log" 2>&1 &
  wait_engine "$cli" "$modern_sock" "$modern_dir/dockerd.log"
}

if [ "$debian_major" = 13 ]; then
  modern_cli=$(dpkg -L docker-cli | grep -E '/bin/docker$' | head -n1)
  start_modern /usr/sbin:/usr/bin /usr/libexec/docker/cli-plugins "$modern_cli"
elif [ "$modern" = 1 ]; then
  fetch_trixie docker.io docker-cli docker-buildx containerd
  # trixie's runc needs GLIBC 2.38; bookworm's (a docker.io dependency) is used instead
  rm -f "$trixie_root/usr/sbin/runc" "$trixie_root/usr/bin/runc"
  modern_cli="$trixie_root/usr/bin/docker"
  start_modern "$trixie_root/usr/sbin:$trixie_root/usr/bin" \
    "$trixie_root/usr/libexec/docker/cli-plugins" "$modern_cli"
fi

if [ "$debian_major" != 13 ]; then
  # docker.io ships its own 20.10 CLI, which has BuildKit built in; the newer CLI first on
  # PATH lacks buildx and cannot build with BuildKit.
  cli=$(dpkg -L docker.io 2>/dev/null | grep -E '/bin/docker$' | head -n1 || true)
  [ -n "$cli" ] || cli=$(command -v docker)
  if ! "$cli" -H "unix://$sock" version >/dev/null 2>&1; then
    net_opts=()
    [ "$state_dir" = /tmp/sandbox-ci-docker ] || engine_net o
    log "starting dockerd (data root $state_dir/data)"
    rm -f "$state_dir/docker.pid"
    nohup dockerd --data-root "$state_dir/data" -H "unix://$sock" \
      --exec-root "$state_dir/exec" --pidfile "$state_dir/docker.pid" "${net_opts[@]}" \
      >"$state_dir/dockerd.log" 2>&1 &
    wait_engine "$cli" "$sock" "$state_dir/dockerd.log"
  fi
  if ! "$cli" -H "unix://$sock" image inspect "$base_image" >/dev/null 2>&1; then
    base_tarball_amd64
    load_base "$cli" "$sock" classic "$base_image" "amd64=$base_tar_amd64"
  fi
else
  # Debian 13: no 20.10 engine; the modern one is the default engine too
  cli=$modern_cli sock=$modern_sock
fi

# In the modern engine $base_image is one name for both platforms (one multi-platform index in
# the containerd image store), so that one `FROM` serves `buildx build --platform
# linux/amd64,linux/arm64` with no registry; $base_image_arm64 is the arm64 image alone.
# (Importing both under one name would not do: the second import replaces the tag, and a
# single-platform image is then used as it is for every platform: an "amd64" stage runs the
# arm64 rootfs, silently.)
if [ "$modern" = 1 ]; then
  arm64_emulation
  base_tarball_amd64
  base_tarball_arm64
  load_base "$modern_cli" "$modern_sock" containerd "$base_image" \
    "amd64=$base_tar_amd64" "arm64=$base_tar_arm64"
  load_base "$modern_cli" "$modern_sock" containerd "$base_image_arm64" "arm64=$base_tar_arm64"
  DOCKER_CONFIG=$modern_config "$modern_cli" -H "unix://$modern_sock" buildx version >&2
fi

# The test registry: Debian's docker-registry (distribution 2.8) on 127.0.0.1, for the tests
# that push (`sandbox build --push`, `--cache-to type=registry`) and pull by digest. Like the
# engines it is started once in the background and left running; a run of this script finds it
# answering with the same config and leaves it alone. One that runs with another config (a new
# port or storage setting) or no longer answers is stopped (SIGTERM, then SIGKILL after 10 s)
# and started again. Before each start `garbage-collect` drops the blobs of what the tests
# deleted (their manifests, by digest; it must not run while the registry serves). Not with
# --delete-untagged: distribution 2.8 then deletes the manifests a tagged index lists
# (distribution/distribution#3178).
registry_dir="$state_dir/registry"
registry_config="$registry_dir/config.yml"
registry_pid="$registry_dir/registry.pid"
registry_bin=$(command -v docker-registry)
# registry_alive: the pid file names a docker-registry serving this state dir's config
registry_alive() {
  local pid cmdline
  pid=$(cat "$registry_pid" 2>/dev/null) || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  case "$cmdline" in *"serve $registry_config "*) return 0 ;; *) return 1 ;; esac
}
# registry_answers PORT: the registry's API root answers on 127.0.0.1:PORT within 2 s
registry_answers() {
  python3 - "$1" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v2/", timeout=2) as answer:
        sys.exit(0 if answer.headers.get("Docker-Distribution-Api-Version") == "registry/2.0" else 1)
except OSError:
    sys.exit(1)
PY
}
stop_registry() {
  local pid
  pid=$(cat "$registry_pid" 2>/dev/null) || return 0
  log "stopping the registry (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    registry_alive || break
    sleep 0.1
  done
  if registry_alive; then kill -KILL "$pid"; sleep 0.5; fi
  rm -f "$registry_pid"
}
registry_config_text() {
  printf '%s\n' \
    "# written by .ci/provision-docker.sh; a change restarts the registry" \
    "version: 0.1" \
    "log:" "  level: warn" \
    "storage:" "  filesystem:" "    rootdirectory: $registry_dir/data" \
    "  delete:" "    enabled: true" \
    "http:" "  addr: 127.0.0.1:$1"
}
# port_free PORT: nothing listens on 127.0.0.1:PORT (SO_REUSEADDR, as the registry binds: a
# connection of its last run in TIME_WAIT does not count); free_port: such a port
port_free() {
  python3 -c 'import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
start_registry() {
  local port fixed=${SANDBOX_TEST_REGISTRY_PORT:-} want
  mkdir -p "$registry_dir/data"
  exec 7>"$registry_dir/lock"
  flock 7   # another run of this script starting it at the same time
  port=${fixed:-$(cat "$registry_dir/port" 2>/dev/null || true)}
  [ -n "$port" ] || port=$(free_port)
  want=$(registry_config_text "$port")
  if registry_alive && [ "$(cat "$registry_config")" = "$want" ] && registry_answers "$port"; then
    exec 7>&-
    registry_address="127.0.0.1:$port"
    return 0
  fi
  registry_alive && stop_registry
  if ! port_free "$port"; then
    # a port kept from an earlier run, taken since by something else: choose another
    [ -z "$fixed" ] || { log "127.0.0.1:$port (SANDBOX_TEST_REGISTRY_PORT) is taken"; return 1; }
    port=$(free_port)
    want=$(registry_config_text "$port")
  fi
  printf '%s\n' "$want" >"$registry_config"
  printf '%s\n' "$port" >"$registry_dir/port"
  if [ -d "$registry_dir/data/docker/registry/v2/repositories" ]; then   # (it fails on empty storage)
    "$registry_bin" garbage-collect "$registry_config" >"$registry_dir/gc.log" 2>&1 \
      || { log "registry garbage-collect failed (going on):"; tail -n 5 "$registry_dir/gc.log" >&2; echo >&2; }
  fi
  log "starting docker-registry on 127.0.0.1:$port (storage $registry_dir/data)"
  nohup "$registry_bin" serve "$registry_config" </dev/null >"$registry_dir/registry.log" 2>&1 7>&- &
  echo $! >"$registry_pid"
  for _ in $(seq 1 100); do
    registry_alive || break
    registry_answers "$port" && break
    sleep 0.1
  done
  if ! { registry_alive && registry_answers "$port"; }; then
    log "docker-registry did not answer on 127.0.0.1:$port"
    tail -n 20 "$registry_dir/registry.log" >&2
    stop_registry
    return 1
  fi
  exec 7>&-
  registry_address="127.0.0.1:$port"
}
start_registry
skopeo --version >&2

# Podman (see provision-podman.sh), the same amd64 base image as the 20.10 engine's
podman_exports=
if [ "${SANDBOX_PODMAN:-1}" != 0 ]; then
  base_tarball_amd64
  podman_exports=$(bash "$ci_dir/provision-podman.sh" "$state_dir" "$registry_address" "$base_image" "$base_tar_amd64")
fi

printf 'export DOCKER_HOST=%q\n' "unix://$sock"
printf 'export SANDBOX_DOCKER_CLI=%q\n' "$cli"
printf 'export SANDBOX_TEST_BASE_IMAGE=%q\n' "$base_image"
printf 'export SANDBOX_COMPOSE=%q\n' "$compose"
printf 'export SANDBOX_TEST_REGISTRY=%q\n' "$registry_address"
[ -z "$podman_exports" ] || printf '%s\n' "$podman_exports"
if [ "$modern" = 1 ]; then
  printf 'export SANDBOX_MODERN_DOCKER_HOST=%q\n' "unix://$modern_sock"
  printf 'export SANDBOX_MODERN_DOCKER_CLI=%q\n' "$modern_cli"
  printf 'export SANDBOX_MODERN_DOCKER_CONFIG=%q\n' "$modern_config"
  printf 'export SANDBOX_TEST_BASE_IMAGE_ARM64=%q\n' "$base_image_arm64"
  printf 'export SANDBOX_TEST_BASE_TAR_AMD64=%q\n' "$base_tar_amd64"
  printf 'export SANDBOX_TEST_BASE_TAR_ARM64=%q\n' "$base_tar_arm64"
fi
