#pragma once
// A planned WireGuard [Peer] (core/wgconf.h) as the device gets it: the one
// conversion that kg and `kgctl connect` both install through.

#include <functional>
#include <optional>
#include <string>

#include "core/endpoint.h"
#include "core/wgconf.h"
#include "wg/wireguard.h"

namespace kilo::wg {

// Looks a DNS name up; nullopt when it fails.
using DnsLookup = std::function<std::optional<IPAddr>(const std::string&)>;

// Returns the endpoint the device gets for `e`: its IP, or its DNS name
// looked up with `lookup` on every call (dynamic DNS). nullopt without an
// endpoint, without `lookup`, or when the lookup fails: WireGuard then keeps
// the endpoint it has.
std::optional<WgEndpoint> ResolveEndpoint(const std::optional<Endpoint>& e,
                                          const DnsLookup& lookup);

// Returns the device's config of the planned peer `p` (its endpoint through
// ResolveEndpoint).
WgPeerConfig PeerConfigFromPlan(const WgPeer& p, const DnsLookup& lookup);

}  // namespace kilo::wg
