#pragma once
// Address discovery and MTU detection for kg start-up (SPEC section 8).
//
// SelectIPs is a pure function over a snapshot of the host's addresses so that
// the selection rules are unit-testable; CollectHostAddresses is the thin
// collector over a NetlinkClient.

#include <optional>
#include <string>
#include <vector>

#include "core/ip.h"
#include "core/status.h"
#include "netlink/netlink.h"

namespace kilo::netlink {

// One address of the host.
struct HostAddress {
  std::string iface;
  IPPrefix prefix;                   // keeps host bits
  bool default_route_iface = false;  // iface carries the default route
};

struct DiscoveryOptions {
  // What the hostname resolves to (the caller resolves; empty if it did not).
  std::vector<IPAddr> hostname_ips;
  // --internal-cidr (Kilo 0.7, #403): when set, only private addresses inside
  // one of these may be the internal IP.
  std::vector<IPPrefix> internal_cidrs;
  // --prioritise-private-addresses: the private IP becomes the endpoint IP.
  bool prioritise_private_addresses = false;
  // Interfaces whose addresses are never candidates (kg's own: kilo0, tunl0).
  std::vector<std::string> ignore_interfaces;
};

struct DiscoveredIPs {
  std::optional<IPPrefix> internal;  // nullopt: the node has no private IP
  std::string internal_iface;
  IPPrefix external;  // always set on success
  std::string external_iface;
};

// Picks the internal and external IPs, as Kilo's getIP does:
//  candidates are ranked: addresses equal to a hostname IP first, then the
//  other addresses of the interfaces holding a hostname IP, then those on the
//  default-route interface, then all others; within a rank IPv4 before
//  IPv6, then by address text. Loopback and link-local addresses are skipped.
//  Internal = first private (RFC 1918 / RFC 4193) candidate, inside one of
//  internal_cidrs when there are any. External = first public
//  candidate, else the internal one. prioritise_private_addresses makes the
//  external IP the internal one when there is one.
// Fails with "no valid IP was found" when nothing qualifies.
Result<DiscoveredIPs> SelectIPs(const std::vector<HostAddress>& addrs,
                                const DiscoveryOptions& opts);

// Returns every address of the host with its interface, marking the interface
// of the lowest-metric default route (IPv4 preferred, then IPv6).
Result<std::vector<HostAddress>> CollectHostAddresses(NetlinkClient& nl);

// Returns the name of the default-route interface, "" if there is none.
Result<std::string> DefaultRouteInterface(NetlinkClient& nl);

// WireGuard's overhead that --mtu auto subtracts: 80 bytes (IPv6 40 + UDP 8 +
// WireGuard 32), the worst case, as wg-quick does.
constexpr int kWireGuardOverhead = 80;

// Pure: the MTU for the WireGuard interface: the MTU of `default_iface` if it
// is in `links`, else of `private_iface`, minus kWireGuardOverhead.
// Fails when neither interface is known.
Result<int> AutoMTU(const std::vector<Link>& links, const std::string& default_iface,
                    const std::string& private_iface);

}  // namespace kilo::netlink
