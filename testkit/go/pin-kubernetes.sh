#!/usr/bin/env bash
# Writes testkit/go/<folder>/go.mod for Kubernetes <version> and resolves its go.sum.
#
#   testkit/go/pin-kubernetes.sh kubernetes-newest 1.37.2 --with-node
#
# --with-node adds what testkit's node runs (kubelet, kube-scheduler, kube-proxy): the newest
# release only.
#
# k8s.io/kubernetes requires each of its staging modules (k8s.io/api, k8s.io/client-go, ...) at
# v0.0.0 and replaces them with its own staging/ folder; that replace does not apply to a module
# that depends on it, so ours replaces each with the published v0.<minor>.<patch> of the release.
set -euo pipefail
folder=${1:?usage: $0 <folder> <kubernetes version, e.g. 1.37.2>}
version=${2:?usage: $0 <folder> <kubernetes version, e.g. 1.37.2>}
with_node=${3:-}
staging="v0.${version#1.}"
cd "$(dirname "$0")"
mkdir -p "$folder"
upstream_mod=$(go mod download -json "k8s.io/kubernetes@v$version" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
go_line=$(grep -m1 '^go ' "$upstream_mod")
{
  if [ "$with_node" = --with-node ]; then
    echo "// kube-apiserver, kube-controller-manager, kubectl, and for testkit's node kubelet,"
    echo "// kube-scheduler and kube-proxy $version, built from Kubernetes' own published modules"
    echo "// (nothing vendored here). Written by ../pin-kubernetes.sh."
  else
    echo "// kube-apiserver, kube-controller-manager and kubectl $version for testkit, built from"
    echo "// Kubernetes' own published modules (nothing vendored here). Written by ../pin-kubernetes.sh."
  fi
  echo "module bedrock-operator.dev/testkit/$folder"
  echo
  echo "$go_line"
  echo
  echo "require k8s.io/kubernetes v$version"
  echo
  echo "tool ("
  echo "	k8s.io/kubernetes/cmd/kube-apiserver"
  echo "	k8s.io/kubernetes/cmd/kube-controller-manager"
  if [ "$with_node" = --with-node ]; then
    echo "	k8s.io/kubernetes/cmd/kube-proxy"
    echo "	k8s.io/kubernetes/cmd/kube-scheduler"
  fi
  echo "	k8s.io/kubernetes/cmd/kubectl"
  if [ "$with_node" = --with-node ]; then
    echo "	k8s.io/kubernetes/cmd/kubelet"
  fi
  echo ")"
  echo
  echo "replace ("
  grep -E '^\s+k8s.io/[a-z0-9-]+ => \./staging/' "$upstream_mod" |
    awk -v v="$staging" '{ print "\t" $1 " => " $1 " " v }'
  echo ")"
} > "$folder/go.mod"
rm -f "$folder/go.sum"
(cd "$folder" && go mod tidy)
echo "pinned $folder to Kubernetes $version"
