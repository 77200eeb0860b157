#!/usr/bin/env bash
# Builds kube-apiserver from Debian bookworm's `kubernetes` source package and installs
# the binary into the cache folder given as $1. Debian's etcd-server package supplies etcd.
#
# Why from source: no Kubernetes binaries can be downloaded on the machines this project
# targets, but Debian's source package carries the full 1.20.2 tree with vendor/ and
# builds with Debian's Go. See docs/testing.md for the steps and why each is there.
set -euo pipefail

cache_dir=${1:?usage: build-kube-apiserver.sh CACHE_DIR}
version=1.20.2
packages=(golang-go rsync etcd-server golang-github-modern-go-reflect2-dev dpkg-dev ca-certificates)

log() { printf '[testkit] %s\n' "$*" >&2; }

has_deb_src() {
  grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ || grep -qs '^deb-src' /etc/apt/sources.list
}

# Without root (and without password-less sudo) nothing can be installed: say exactly what is
# missing and stop with exit code 3, which testkit reports as "packages missing".
if [[ $(id -u) -ne 0 ]] && ! sudo -n true 2>/dev/null; then
  missing=()
  for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})) || ! has_deb_src; then
    ((${#missing[@]})) && log "missing Debian packages: ${missing[*]}"
    has_deb_src || log "missing a deb-src entry for bookworm main in /etc/apt (needed by apt-get source)"
    has_deb_src || log "as root: add a deb-src entry for bookworm main, then apt-get update"
    ((${#missing[@]})) && log "as root: apt-get install -y ${missing[*]}"
    exit 3
  fi
fi

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi; }

# A deb-src entry for bookworm main, on the mirror the machine already uses.
src_list=/etc/apt/sources.list.d/bedrock-operator-src.sources
if ! has_deb_src; then
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  if [[ -z $mirror ]]; then
    mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  fi
  [[ -n $mirror ]] || { log "cannot find the Debian mirror in /etc/apt"; exit 4; }
  log "adding deb-src for bookworm main"
  printf 'Types: deb-src\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" |
    as_root tee "$src_list" >/dev/null
  as_root apt-get update -qq
fi

missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Idempotent: the packages above are (re)checked every time, the slow build happens once.
if [[ -x $cache_dir/kube-apiserver && -z ${TESTKIT_REBUILD:-} ]]; then
  log "$cache_dir/kube-apiserver already built (set TESTKIT_REBUILD=1 to build again)"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
log "downloading Debian's kubernetes source package"
apt-get source --download-only kubernetes >/dev/null 2>&1 || {
  as_root apt-get update -qq
  apt-get source --download-only kubernetes >/dev/null
}
orig=$(ls kubernetes_*.orig.tar.* | head -n 1)
tar xf "$orig"
src=$(find . -maxdepth 1 -type d -name "kubernetes-$version*" | head -n 1)
[[ -n $src ]] || { log "kubernetes-$version not found in $orig"; exit 5; }
cd "$src"

# The vendored reflect2 1.0.1 crashes (SIGSEGV in mapiternext) under Go >= 1.18 the first time
# the apiserver serialises a custom resource; Debian ships the fixed 1.0.2.
rm -rf vendor/github.com/modern-go/reflect2
cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 vendor/github.com/modern-go/reflect2
rm -f vendor/github.com/modern-go/reflect2/go.mod

# GOPATH mode, as Debian's packaging builds it.
export GOPATH=$PWD/.go CGO_ENABLED=0 GO111MODULE=off HOME=$work/home GOFLAGS=
export GOCACHE=$work/gocache
mkdir -p .go/src/k8s.io "$HOME"
ln -s ../../.. .go/src/k8s.io/kubernetes
log "building kube-apiserver $version (about 5 minutes on 2 cores)"
make WHAT=cmd/kube-apiserver >build.log 2>&1 || { tail -n 40 build.log >&2; exit 6; }

mkdir -p "$cache_dir"
install -m 0755 _output/bin/kube-apiserver "$cache_dir/kube-apiserver.tmp"
mv "$cache_dir/kube-apiserver.tmp" "$cache_dir/kube-apiserver"
log "installed $cache_dir/kube-apiserver"
