#pragma once
// Rendering of a WireGuard peer as a kilo.squat.ai/v1alpha1 Peer object, as
// `kgctl showconf ... --as-peer -o yaml|json` prints it.

#include <string>
#include <vector>

#include "core/wgconf.h"

namespace kilo {

// `allowed_ips` are the spec.allowedIPs strings in order.
std::string RenderPeerYaml(const std::string& name, const WgPeer& peer,
                           const std::vector<std::string>& allowed_ips);
std::string RenderPeerJson(const std::string& name, const WgPeer& peer,
                           const std::vector<std::string>& allowed_ips);

// Quotes a YAML scalar when a plain one would be read as another type or be
// ambiguous (numbers, booleans, null, leading indicators, ": ", " #").
std::string YamlScalar(const std::string& s);

}  // namespace kilo
