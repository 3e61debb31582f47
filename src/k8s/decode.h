#pragma once
// Decoding Kubernetes JSON into the raw objects of core/objects.h, and
// encoding Peers back. Only the fields Kilo uses are kept, so a cache of
// thousands of Nodes stays small.

#include <nlohmann/json.hpp>

#include "core/objects.h"
#include "core/status.h"

namespace kilo::k8s {

// Decodes a v1 Node. Errors only when the object is not an object or has no
// metadata.name; fields of the wrong type are ignored (the API server
// validates Nodes, so this does not happen in practice).
Result<NodeObject> DecodeNodeJson(const nlohmann::json& j);

// Decodes a kilo.squat.ai/v1alpha1 Peer. Errors only when the object is not
// an object or has no metadata.name; a field of the wrong JSON type (e.g.
// spec.endpoint.port "abc") is recorded in PeerObject::type_errors, never
// thrown, so the Peer can be reported and ignored.
Result<PeerObject> DecodePeerJson(const nlohmann::json& j);

inline constexpr const char* kPeerApiVersion = "kilo.squat.ai/v1alpha1";
inline constexpr const char* kPeerKind = "Peer";

// Encodes a Peer object (apiVersion, kind, metadata.name, metadata.
// resourceVersion when set, spec). Optional fields are omitted when empty.
nlohmann::json EncodePeerJson(const PeerObject& p);
// Encodes only the spec of a Peer.
nlohmann::json EncodePeerSpec(const PeerObject& p);

}  // namespace kilo::k8s
