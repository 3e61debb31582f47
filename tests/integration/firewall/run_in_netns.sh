#!/bin/bash
# Runs the firewall integration test binary inside a fresh network namespace.
#
#   +-------------------- host (init netns): never touched -------------------+
#   |                                                                         |
#   |   +------------------- fwtest-<pid> (created here) -------------------+ |
#   |   |  nftables:  table inet kilo        <- NftablesFirewall            | |
#   |   |             table ip foreign       <- "someone else's" rules      | |
#   |   |  iptables:  nat POSTROUTING -> KILO-POSTROUTING -> KILO-NAT       | |
#   |   |             filter FORWARD  -> KILO-FORWARD                       | |
#   |   |             nat POSTROUTING -s 10.99.0.0/16 -j MASQUERADE (foreign)| |
#   |   +-------------------------------------------------------------------+ |
#   +-------------------------------------------------------------------------+
#
# nftables and iptables state is per network namespace, so the tests may flush
# and rewrite everything inside it. The namespace is deleted on every exit path.
#
# Usage: run_in_netns.sh <firewall_integration_test> [gtest args...]
# Exit code 77 (CTest SKIP_RETURN_CODE) when it cannot run here.
set -u

bin="$1"
shift

skip() {
  echo "SKIP: firewall integration tests: $*"
  exit 77
}

[ "$(id -u)" = 0 ] || skip "need root (network namespaces, nftables, iptables)"
for tool in ip nft iptables iptables-save iptables-restore ip6tables-save ip6tables-restore; do
  command -v "$tool" >/dev/null 2>&1 || skip "missing tool: $tool"
done

ns="fwtest-$$"
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$ns" || skip "cannot create network namespace $ns"
ip netns exec "$ns" nft list ruleset >/dev/null 2>&1 || skip "nftables unavailable in a network namespace"

ip netns exec "$ns" env KILO_FW_NETNS="$ns" "$bin" "$@"
