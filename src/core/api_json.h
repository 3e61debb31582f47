#pragma once
// What the Kubernetes API server sends about Nodes and Peers: a page of a
// LIST, and one watch event. Read with simdjson On-Demand by core's one
// decoder of those objects (object_decode.h), the one kgctl's dump files go
// through too. The items of a NodeList or PeerList carry no "kind"; the
// caller says what it listed. As On-Demand checks only what it reads, a
// syntax error inside a value Kilo does not read (a Node's status) is not
// reported in a LIST page; the API server sends none. A watch frame is
// validated whole (simdjson's DOM parser, no decoding).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/objects.h"
#include "core/status.h"

namespace kilo {

enum class ObjectKind { kNode, kPeer };

struct ListPage {
  std::vector<NodeObject> nodes;  // ObjectKind::kNode
  std::vector<PeerObject> peers;  // ObjectKind::kPeer
  // Items that could not be decoded, skipped: "item 3: metadata.name missing".
  std::vector<std::string> skipped;
  std::string continue_token;    // metadata.continue ("" on the last page)
  std::string resource_version;  // metadata.resourceVersion
};

// Decodes one page of a LIST. Fails when the page is not a JSON object.
Result<ListPage> DecodeListPage(std::string_view json, ObjectKind kind);
// Same, but when json.capacity() >= json.size() + kJsonPadding
// (objects_json.h) the page is parsed in place, without a copy.
Result<ListPage> DecodeListPagePadded(const std::string& json, ObjectKind kind);

// One frame of a watch stream.
struct ApiWatchEvent {
  std::string type;              // "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR", ...
  bool has_object = false;       // "object" is present and a JSON object
  std::string name;              // object.metadata.name
  std::string resource_version;  // object.metadata.resourceVersion
  int code = 0;                  // ERROR: the metav1.Status code (410: Gone)
  std::string message;           // ERROR: the metav1.Status message
  // ADDED / MODIFIED: the object (of the kind asked for), or why it could
  // not be decoded.
  std::optional<NodeObject> node;
  std::optional<PeerObject> peer;
  std::string error;
};

// Decodes one watch event. nullopt when the frame is not a JSON object.
std::optional<ApiWatchEvent> DecodeWatchEvent(std::string_view frame, ObjectKind kind);

}  // namespace kilo
