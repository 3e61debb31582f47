#pragma once
// The CNI conflist kg keeps at --cni-path: Kilo's bridge + host-local IPAM
// configuration with the node's pod CIDR as the range.

#include <string>
#include <vector>

#include "core/ip.h"

namespace kilo {

// Returns the conflist JSON (stable text, trailing newline) for `pod_cidr`
// with the given bridge MTU.
std::string RenderCNIConflist(const IPPrefix& pod_cidr, int mtu);
// The same with one host-local range per pod CIDR (dual-stack: IPv4 and IPv6),
// `pod_cidr` first; identical to the above when `extra` is empty.
std::string RenderCNIConflist(const IPPrefix& pod_cidr, const std::vector<IPPrefix>& extra,
                              int mtu);

}  // namespace kilo
