#!/usr/bin/env bash
# Provision a real Docker engine on a CI machine that has none (see
# ../shared/docs/docker-on-ci-machines.md): Debian's docker.io (20.10 engine + CLI with
# built-in BuildKit), dockerd in the background, and a local base image made with
# debootstrap because no container registry is reachable; and Compose v2 (Debian 13's
# docker-compose, unpacked beside bookworm, not installed).
# Prints `export` lines for DOCKER_HOST / SANDBOX_DOCKER_CLI / SANDBOX_TEST_BASE_IMAGE /
# SANDBOX_COMPOSE to stdout; logs go to stderr. Idempotent: what is there is skipped.
#   --compose-only   only Compose (an engine already answers); prints only SANDBOX_COMPOSE
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

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_pkgs+=(debootstrap)
# the pull tests serve images from a registry of their own on 127.0.0.1
command -v docker-registry >/dev/null 2>&1 || need_pkgs+=(docker-registry)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${need_pkgs[@]}" >&2
fi

# docker.io ships its own 20.10 CLI, which has BuildKit built in; the newer CLI first on
# PATH lacks buildx and cannot build with BuildKit.
cli=$(dpkg -L docker.io 2>/dev/null | grep -E '/bin/docker$' | head -n1 || true)
[ -n "$cli" ] || cli=$(command -v docker)

if ! "$cli" -H "unix://$sock" version >/dev/null 2>&1; then
  log "starting dockerd (data root $state_dir/data)"
  rm -f "$state_dir/docker.pid"
  nohup dockerd --data-root "$state_dir/data" -H "unix://$sock" \
    --exec-root "$state_dir/exec" --pidfile "$state_dir/docker.pid" \
    >"$state_dir/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do
    "$cli" -H "unix://$sock" version >/dev/null 2>&1 && break
    sleep 1
  done
  "$cli" -H "unix://$sock" version >/dev/null 2>&1 || { log "dockerd did not answer"; tail -n 30 "$state_dir/dockerd.log" >&2; exit 1; }
fi

if ! "$cli" -H "unix://$sock" image inspect "$base_image" >/dev/null 2>&1; then
  mirror=$(apt_mirror)
  rootfs="$state_dir/rootfs"
  log "debootstrap bookworm from $mirror (about 30 s)"
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >&2
  tar -C "$rootfs" -c . | "$cli" -H "unix://$sock" import - "$base_image" >&2
  rm -rf "$rootfs"
fi

printf 'export DOCKER_HOST=%q\n' "unix://$sock"
printf 'export SANDBOX_DOCKER_CLI=%q\n' "$cli"
printf 'export SANDBOX_TEST_BASE_IMAGE=%q\n' "$base_image"
printf 'export SANDBOX_COMPOSE=%q\n' "$compose"
