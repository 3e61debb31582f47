#pragma once
// Encoding Peers as the API server takes them. (Nodes and Peers are decoded
// by core's decoder: core/api_json.h, core/objects_json.h.)

#include <nlohmann/json.hpp>

#include "core/objects.h"
#include "core/status.h"

namespace kilo::k8s {

inline constexpr const char* kPeerApiVersion = "kilo.squat.ai/v1alpha1";
inline constexpr const char* kPeerKind = "Peer";

// Encodes a Peer object (apiVersion, kind, metadata.name, metadata.
// resourceVersion when set, spec). Optional fields are omitted when empty.
nlohmann::json EncodePeerJson(const PeerObject& p);
// Encodes only the spec of a Peer.
nlohmann::json EncodePeerSpec(const PeerObject& p);

}  // namespace kilo::k8s
