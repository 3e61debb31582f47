#pragma once
// Decoding of Kubernetes JSON/YAML into the raw objects of objects.h. Uses
// simdjson so that a 100 MB `kubectl get nodes -o json` decodes in well under
// a second.

#include <string>
#include <string_view>

#include "core/objects.h"
#include "core/status.h"

namespace kilo {

// Decodes a kubectl `List` (or NodeList/PeerList, or a single Node/Peer) in
// JSON or YAML. Items of other kinds are counted in `skipped`. Errors name
// the problem ("not valid JSON or YAML: ...", "item 3: metadata.name missing").
Result<ClusterObjects> DecodeClusterObjects(std::string_view text);

// The padding DecodeClusterObjectsPadded needs after the text (simdjson's).
inline constexpr size_t kJsonPadding = 64;

// Same as DecodeClusterObjects, but when text.capacity() >= text.size() +
// kJsonPadding (reserve() it before reading) the JSON is parsed in place,
// without a copy: a 100 MB dump then needs 100 MB less memory.
Result<ClusterObjects> DecodeClusterObjectsPadded(const std::string& text);

// Decodes one Node / Peer object given as JSON text.
Result<NodeObject> DecodeNodeObject(std::string_view json);
Result<PeerObject> DecodePeerObject(std::string_view json);

// Converts YAML text (one document) to JSON text. Errors carry the line.
Result<std::string> YamlToJson(std::string_view yaml);

}  // namespace kilo
