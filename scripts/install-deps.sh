#!/usr/bin/env bash
# Installs every Debian package the project needs to build, test and run its demo.
# Idempotent: packages already present are skipped by apt. Run as root on Debian 12.
#   --soak  also the tools of the soak's heap recording (tests/soak: --heaptrack).
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git ca-certificates
  clang libclang-rt-14-dev clang-format
  libmbedtls-dev libhttp-parser-dev zlib1g-dev libdeflate-dev nlohmann-json3-dev libyaml-cpp-dev libsodium-dev
  libmnl-dev libnftables-dev prometheus-cpp-dev libcivetweb-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev libsimdjson-dev
  libgraphviz-dev graphviz
  wireguard-go wireguard-tools nftables iptables iproute2 iputils-ping conntrack
  bats python3 python3-yaml openssl curl procps time
)
for arg in "$@"; do
  case $arg in
    --soak) PKGS+=(heaptrack gdb) ;;
    *) echo "install-deps: unknown argument $arg (only --soak)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
# kubectl: the machine image ships one; Debian's kubernetes-client is the fallback.
if ! command -v kubectl >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends kubernetes-client || echo "install-deps: warning: no kubectl available; kubectl fidelity tests will be skipped"
fi
# simdjson's single-file source, for the static kgctl. Not fatal here: without it,
# `make` configures with -DKILO_STATIC_KGCTL=OFF and says so.
bash "$(dirname "$0")/fetch-simdjson-source.sh" ||
  echo "install-deps: warning: no simdjson source; kgctl will be linked dynamically (KILO_STATIC_KGCTL=OFF)" >&2
# prometheus-cpp core's source, for kg with the C++ runtime linked in. Not fatal
# either: without it, `make` configures with -DKILO_STATIC_KG=OFF and says so.
bash "$(dirname "$0")/fetch-prometheus-source.sh" ||
  echo "install-deps: warning: no prometheus-cpp source; kg will load the shared prometheus-cpp and libstdc++ (KILO_STATIC_KG=OFF)" >&2
