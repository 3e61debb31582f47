#pragma once
// Writes and one-off reads against the API server: node annotation patches,
// Peer CRUD, the Peer CRD check and Events. Reads of many objects go through
// the informers (informer.h).

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/objects.h"
#include "core/status.h"
#include "k8s/informer.h"
#include "k8s/lease.h"
#include "k8s/transport.h"

namespace kilo::k8s {

inline constexpr const char* kPeerCRDName = "peers.kilo.squat.ai";
inline constexpr const char* kPeerCRDPath =
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/peers.kilo.squat.ai";
inline constexpr const char* kPeerCRDMissingError =
    "the Peer CRD peers.kilo.squat.ai is not installed: apply manifests/crds.yaml (kubectl apply "
    "-f manifests/crds.yaml)";
inline constexpr const char* kMergePatchType = "application/merge-patch+json";
inline constexpr const char* kJsonPatchType = "application/json-patch+json";

// Annotation key -> new value; nullopt deletes the annotation.
using AnnotationChanges = std::map<std::string, std::optional<std::string>>;

// Returns the JSON merge patch {"metadata":{"annotations":{...}}} that makes
// `current` carry `changes`, containing only the keys whose value would change
// (null for removal of a present key). `current` == nullptr means unknown: all
// changes are included. Returns nullopt when nothing would change.
std::optional<std::string> BuildAnnotationMergePatch(
    const std::map<std::string, std::string>* current, const AnnotationChanges& changes);

// Returns the JSON patch of "remove" operations for those of `keys` present in
// `current` (in key order), or nullopt when none is present.
std::optional<std::string> BuildRemoveAnnotationsPatch(
    const std::map<std::string, std::string>& current, const std::vector<std::string>& keys);

// Escapes a JSON Pointer reference token (RFC 6901): '~' -> "~0", '/' -> "~1".
std::string EscapeJsonPointer(std::string_view token);

// A core/v1 Event about a Node (e.g. reason InvalidAnnotation).
struct NodeEvent {
  std::string node_name;
  std::string node_uid;  // optional
  std::string reason;
  std::string message;
  std::string type = "Warning";  // or "Normal"
  std::string host;              // source.host; optional
};

struct KubeClientOptions {
  // Wall clock for Event timestamps and names; nullptr = system_clock::now.
  std::function<std::chrono::system_clock::time_point()> now;
  std::string event_namespace = "default";
  std::string component = "kilo";
  // Repeats of an Event (same node, reason, message) within this window bump
  // its count instead of creating a new object, as client-go's recorder does.
  std::chrono::seconds event_aggregation_window{std::chrono::minutes(10)};
};

// Thread-safe.
class KubeClient {
 public:
  // REQUIRES: transport outlives the client.
  explicit KubeClient(Transport* transport, KubeClientOptions opts = {});

  // Sets the Node cache that PatchNodeAnnotations / RemoveNodeAnnotations
  // consult to skip requests that would change nothing. May be null.
  // REQUIRES: `nodes` outlives the client; call before concurrent use.
  void SetNodeCache(const NodeInformer* nodes) { nodes_ = nodes; }

  // Merge-patches only the given annotations of node `name` (nullopt value =
  // delete), never touching other annotations, labels or fields. Skips the
  // request when the cached node already has exactly these values. Returns
  // whether a request was sent.
  Result<bool> PatchNodeAnnotations(const std::string& name, const AnnotationChanges& changes);

  // Removes the given annotation keys with a JSON patch of "remove" ops for
  // the keys present (from the cache, or a GET when there is no cache).
  // Returns whether a request was sent.
  Result<bool> RemoveNodeAnnotations(const std::string& name, const std::vector<std::string>& keys);

  Result<NodeObject> GetNode(const std::string& name);

  // Returns nullopt when the Peer does not exist.
  Result<std::optional<PeerObject>> GetPeer(const std::string& name);
  // Creates a Peer (p.resource_version is ignored). Returns the stored Peer.
  Result<PeerObject> CreatePeer(const PeerObject& p);
  // Replaces the spec of an existing Peer with PUT, keeping its metadata
  // (labels, annotations). REQUIRES: p.resource_version is the version the
  // caller read; a newer one on the server gives a 409 conflict error.
  Result<PeerObject> UpdatePeer(const PeerObject& p);
  // Deletes a Peer. Deleting a Peer that does not exist is not an error.
  Status DeletePeer(const std::string& name);

  // Checks that the Peer CRD is installed; a 404 gives kPeerCRDMissingError.
  Status CheckPeerCRD();

  // Records an Event on a Node in opts.event_namespace.
  Status CreateEvent(const NodeEvent& ev);

  // Leases (coordination.k8s.io/v1). Get returns nullopt when the Lease
  // does not exist. Create and Update return the stored Lease, or nullopt
  // when another writer got there first (409: AlreadyExists on create,
  // Conflict on an update whose l.resource_version is no longer current);
  // any other failure is an error naming the Lease.
  Result<std::optional<LeaseObject>> GetLease(const std::string& ns, const std::string& name);
  Result<std::optional<LeaseObject>> CreateLease(const LeaseObject& l);
  // REQUIRES: l.resource_version is the version the caller read.
  Result<std::optional<LeaseObject>> UpdateLease(const LeaseObject& l);

 private:
  Result<std::optional<LeaseObject>> WriteLease(const std::string& method, const LeaseObject& l);
  Result<HttpResponse> Call(const std::string& method, const std::string& path,
                            const std::string& body = "", const std::string& content_type = "");
  std::string ErrorFor(const HttpResponse& resp, const std::string& method,
                       const std::string& path) const;
  Result<nlohmann::json> ParseBody(const HttpResponse& resp, const std::string& method,
                                   const std::string& path) const;
  std::chrono::system_clock::time_point Now() const;

  Transport* const transport_;
  const KubeClientOptions opts_;
  const NodeInformer* nodes_ = nullptr;

  struct SeenEvent {
    std::string name;
    int64_t count = 0;
    std::string first_timestamp;
    std::chrono::system_clock::time_point last;
  };
  std::mutex mu_;
  std::map<std::string, SeenEvent> events_;  // guarded by mu_
};

}  // namespace kilo::k8s
