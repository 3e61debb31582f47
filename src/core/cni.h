#pragma once
// The CNI conflist kg keeps at --cni-path: Kilo's bridge + host-local IPAM
// configuration with the node's pod CIDR as the range.

#include <string>

#include "core/ip.h"

namespace kilo {

// Returns the conflist JSON (stable text, trailing newline) for `pod_cidr`
// with the given bridge MTU.
std::string RenderCNIConflist(const IPPrefix& pod_cidr, int mtu);

}  // namespace kilo
