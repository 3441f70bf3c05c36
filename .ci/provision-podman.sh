#!/usr/bin/env bash
# Provision Podman, the second engine users run, on a CI machine (called by
# provision-docker.sh, which passes what it made: the state dir, the test registry and the
# amd64 base image's rootfs tarball):
#   - Debian's podman from apt (bookworm: 4.3, building with its vendored buildah), rootful
#     (CI runs as root), with runc (docker.io's) as its OCI runtime;
#   - its configuration under $state_dir/podman, none in /etc: containers.conf (cgroupfs and a
#     file event log: no systemd here; its network configs under the state dir),
#     storage.conf (graph root and run root under the state dir) and registries.conf (the test
#     registry on 127.0.0.1, plain HTTP, marked insecure: Podman, unlike Docker, does not trust
#     loopback registries by itself; no unqualified search registries, so a short name is
#     never looked up on the internet);
#   - the test base image, the very same one the Docker engines have (same ID), loaded into
#     its storage from the cached tarball (no registry to pull it from).
# Prints `export` lines to stdout (the variables Podman reads its configuration from, and
# SANDBOX_PODMAN naming the binary for the tests); logs go to stderr. Idempotent.
#   usage: provision-podman.sh STATE_DIR REGISTRY_ADDRESS BASE_IMAGE AMD64_ROOTFS_TAR
set -euo pipefail

log() { printf '[provision-podman] %s\n' "$*" >&2; }
[ $# -eq 4 ] || { log "usage: provision-podman.sh STATE_DIR REGISTRY_ADDRESS BASE_IMAGE AMD64_ROOTFS_TAR"; exit 2; }
state_dir=$1 registry=$2 base_image=$3 base_tar=$4
ci_dir=$(cd "$(dirname "$0")" && pwd)
podman_dir="$state_dir/podman"

if ! dpkg -s podman >/dev/null 2>&1; then
  log "installing podman"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # without recommends: rootless helpers (slirp4netns, uidmap, fuse-overlayfs) and crun are
  # not needed as root, where runc (docker.io's) runs the containers
  apt-get install -y -qq --no-install-recommends podman >&2
fi
podman=$(command -v podman)

mkdir -p "$podman_dir/networks"
# write_if_changed FILE: stdin into FILE unless it holds exactly that already
write_if_changed() {
  local text
  text=$(cat)
  [ -f "$1" ] && [ "$(cat "$1")" = "$text" ] && return 0
  printf '%s\n' "$text" >"$1"
}
# Rootful Podman raises a container's open-files and processes limits (to 1048576 and
# 4194304), which a CI machine that is itself a container may not allow (runc: "error setting
# rlimit type 7", "... type 6"): the machine's own hard limits instead, and where even those
# are refused (seen: a hard limit of 96367 processes, refused above 32768 in a nested
# container), half as many, until a container starts (write_containers_conf NOFILE NPROC).
hard_limit() { local n; n=$(ulimit -H "$1"); [ "$n" = unlimited ] && n=$2; printf '%s\n' "$n"; }
write_containers_conf() {
  write_if_changed "$podman_dir/containers.conf" <<EOF
# written by .ci/provision-podman.sh
[containers]
default_ulimits = ["nofile=$1:$1", "nproc=$2:$2"]
# no systemd on CI machines: cgroups through cgroupfs, events to a file
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
tmp_dir = "$podman_dir/tmp"
[network]
network_config_dir = "$podman_dir/networks"
EOF
}
nofile=$(hard_limit -n 1048576)
nproc=$(hard_limit -u 4194304)
# an earlier run's limits, when it found lower ones that work (so it is not searched again)
kept=$(sed -n 's/^default_ulimits = \["nofile=\([0-9]*\):[0-9]*", "nproc=\([0-9]*\):[0-9]*"\]$/\1 \2/p' \
  "$podman_dir/containers.conf" 2>/dev/null || true)
if [ -n "$kept" ] && [ "${kept% *}" -le "$nofile" ] && [ "${kept#* }" -le "$nproc" ]; then
  nofile=${kept% *} nproc=${kept#* }
fi
write_containers_conf "$nofile" "$nproc"
write_if_changed "$podman_dir/storage.conf" <<EOF
# written by .ci/provision-podman.sh
[storage]
driver = "overlay"
graphroot = "$podman_dir/storage"
runroot = "$podman_dir/run"
EOF
write_if_changed "$podman_dir/registries.conf" <<EOF
# written by .ci/provision-podman.sh
unqualified-search-registries = []

[[registry]]
location = "$registry"
insecure = true
EOF

export CONTAINERS_CONF="$podman_dir/containers.conf"
export CONTAINERS_STORAGE_CONF="$podman_dir/storage.conf"
export CONTAINERS_REGISTRIES_CONF="$podman_dir/registries.conf"

# The base image: the same archive the 20.10 engine loads (its ID is the config digest there
# and in Podman alike), loaded unless Podman has exactly that image under that name.
want=$(python3 "$ci_dir/base_image.py" id-classic "$base_image" "amd64=$base_tar")
have=$("$podman" image inspect --format '{{.Id}}' "$base_image" 2>/dev/null || true)
if [ "sha256:$have" != "$want" ] && [ "$have" != "$want" ]; then
  log "loading $base_image into Podman's storage ($podman_dir/storage)"
  python3 "$ci_dir/base_image.py" write "$base_image" "amd64=$base_tar" | "$podman" load >&2
fi
# the limits: a container starts with them, or they are halved (see write_containers_conf)
for _ in 1 2 3 4 5 6; do
  refused=$("$podman" run --rm --pull=never --network none "$base_image" true 2>&1 >/dev/null) && break
  case "$refused" in
    *"rlimit type 6"*) nproc=$((nproc / 2)) ;;
    *"rlimit type 7"*) nofile=$((nofile / 2)) ;;
    *) log "a container does not start in Podman: $refused"; exit 1 ;;
  esac
  log "Podman's containers may not have these limits here: nofile $nofile, nproc $nproc from now on"
  write_containers_conf "$nofile" "$nproc"
done
"$podman" version >&2

printf 'export SANDBOX_PODMAN=%q\n' "$podman"
printf 'export CONTAINERS_CONF=%q\n' "$CONTAINERS_CONF"
printf 'export CONTAINERS_STORAGE_CONF=%q\n' "$CONTAINERS_STORAGE_CONF"
printf 'export CONTAINERS_REGISTRIES_CONF=%q\n' "$CONTAINERS_REGISTRIES_CONF"
