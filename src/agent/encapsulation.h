#pragma once
// The host side of Kilo's encapsulators (Kilo's pkg/encapsulation): which
// tunnel interface kg routes encapsulated traffic through, whether kg owns it,
// and, in Cilium mode, the CNI compatibility IP kg publishes. Everything goes
// through the injected NetlinkClient, so it is tested against the fake.

#include <optional>
#include <string>

#include "core/ip.h"
#include "core/routes.h"
#include "core/status.h"
#include "netlink/netlink.h"

namespace kilo::agent {

// Cilium's interfaces: its host-side address, and the kernel's tunl0 as
// Cilium renames it with enable-ipip-termination.
inline constexpr const char* kCiliumHostIface = "cilium_host";
inline constexpr const char* kCiliumTunlIface = "cilium_tunl";

struct Tunnel {
  std::string name;       // the interface the tunnel routes and address go on
  bool clean_up = false;  // remove its address and the link on clean-up
};

// Sets up the tunnel interface for `compat` (REQUIRES: encapsulation is not
// never):
//   - none: creates `ipip_name` (tunl0, kind ipip) and sets it up; clean-up
//     leaves it (as kg always has);
//   - cilium: reuses cilium_tunl when Cilium created it (sets it up when
//     down, never removes it), else creates and sets up `ipip_name`, removed
//     on clean-up (Kilo's cilium encapsulator);
//   - flannel: nothing to create; returns `ipip_name` untouched.
// A missing IPIP module is reported as CreateLink reports it.
Result<Tunnel> SetUpTunnel(netlink::NetlinkClient& nl, Compatibility compat,
                           const std::string& ipip_name = "tunl0");

// Returns the value of the cni-compatibility-ip annotation kg publishes: with
// Cilium, the first IPv4 address of cilium_host with its prefix length
// ("10.0.1.5/32"); "" without Cilium mode, without that interface or
// address, or when it cannot be read (Kilo ignores those errors the same way:
// the IP only improves routing).
std::string CNICompatibilityIP(netlink::NetlinkClient& nl, Compatibility compat);

}  // namespace kilo::agent
