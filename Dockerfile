# syntax=docker/dockerfile:1
# Kilo in C++: image with kg (agent and `kg webhook`), kgctl, wireguard-go (for the
# userspace manifests) and the CNI plugins the Kilo conflist uses.
#
#   docker build -t squat/kilo-cpp:0.7 .
#
# Two stages on Debian 12: the build stage has compilers and -dev packages, the
# runtime stage only the shared libraries kg/kgctl link against plus the network
# tools; no compilers, no package caches.

ARG DEBIAN_IMAGE=debian:bookworm-slim

########################################################################### build
FROM ${DEBIAN_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG JOBS=4
ENV DEBIAN_FRONTEND=noninteractive
# The build subset of scripts/install-deps.sh (no test, fuzz or demo tooling).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ca-certificates \
      libmbedtls-dev libhttp-parser-dev zlib1g-dev libdeflate-dev nlohmann-json3-dev libyaml-cpp-dev libsodium-dev \
      libmnl-dev libnftables-dev prometheus-cpp-dev libcivetweb-dev \
      libspdlog-dev libfmt-dev libcli11-dev libsimdjson-dev libgraphviz-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# simdjson's source for the static kgctl (same Debian version; if it cannot be
# fetched, kgctl is linked dynamically: the script then prints -DKILO_STATIC_KGCTL=OFF),
# and prometheus-cpp's for kg with the C++ runtime linked in (KILO_STATIC_KG, likewise).
RUN static=$(bash scripts/fetch-simdjson-source.sh --cmake-flag) \
 && kg=$(bash scripts/fetch-prometheus-source.sh --cmake-flag) \
 && if [ "$static" = -DKILO_STATIC_KGCTL=OFF ]; then kg=-DKILO_STATIC_KG=OFF; fi \
 && cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release "$static" "$kg" \
      -DKILO_TESTS=OFF -DKILO_BENCH=OFF -DKILO_FUZZ=OFF -DKILO_SANITIZE=OFF \
 && cmake --build /build -j"${JOBS}" --target kg kgctl kgctl-full \
 && install -D -s -m 0755 /build/bin/kg /out/usr/local/bin/kg \
 && install -D -s -m 0755 /build/bin/kgctl /out/usr/local/bin/kgctl \
 && install -D -s -m 0755 /build/bin/kgctl-full /out/usr/local/bin/kgctl-full \
 && ln -s kgctl /out/usr/local/bin/kubectl-kilo

######################################################################### runtime
FROM ${DEBIAN_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV DEBIAN_FRONTEND=noninteractive
# Shared libraries of kg/kgctl (their own dependencies follow), then the tools:
# iproute2/wireguard-tools for operators (kubectl exec ... wg show), nftables and
# iptables (iptables-nft, netlink only: kg needs NET_ADMIN, not NET_RAW),
# wireguard-go for nodes without the WireGuard module, the CNI plugins that the
# install-cni init container copies to the host (bridge, host-local, portmap, loopback),
# graphviz for the `dot` program kg's /graph?format=svg runs (as Kilo's image has it).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      libsodium23 libmnl0 libnftables1 libyaml-cpp0.7 \
      libprometheus-cpp-core1.0 libcivetweb1 libgvc6 libspdlog1.10 libfmt9 libsimdjson14 \
      iproute2 nftables iptables wireguard-tools wireguard-go containernetworking-plugins \
      graphviz \
 && update-alternatives --set iptables /usr/sbin/iptables-nft \
 && update-alternatives --set ip6tables /usr/sbin/ip6tables-nft \
 && mkdir -p /opt/cni/bin /var/lib/kilo /var/run/wireguard \
 && for p in bridge host-local portmap loopback; do ln -s "/usr/lib/cni/$p" "/opt/cni/bin/$p"; done \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
COPY --from=build /out/ /
# Fails the build if a shared library is missing from the runtime stage.
RUN kg --version && kgctl --help >/dev/null \
 && ! ldd /usr/local/bin/kg /usr/local/bin/kgctl /usr/local/bin/kgctl-full | grep -q 'not found'
EXPOSE 1107 51820/udp
ENTRYPOINT ["/usr/local/bin/kg"]
