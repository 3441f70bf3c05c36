#!/usr/bin/env bash
# Provision a real Docker engine on a CI machine that has none (see
# ../shared/docs/docker-on-ci-machines.md): Debian's docker.io (20.10 engine + CLI with
# built-in BuildKit), dockerd in the background, and a local base image made with
# debootstrap because no container registry is reachable.
# Prints `export` lines for DOCKER_HOST / SANDBOX_DOCKER_CLI to stdout; logs go to stderr.
set -euo pipefail

state_dir=${SANDBOX_DOCKER_STATE:-/tmp/sandbox-ci-docker}
base_image=${SANDBOX_TEST_BASE_IMAGE:-local/debian:bookworm}
sock="$state_dir/docker.sock"
mkdir -p "$state_dir"

log() { printf '[provision-docker] %s\n' "$*" >&2; }

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
  mirror=$(grep -rhoE '^(deb|URIs:)[^#]*https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
    | grep -oE "https?://[^ ]+" | grep -E "/debian/?$" | head -n1 || true)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
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
