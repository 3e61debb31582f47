#pragma once
// Raw Kubernetes objects as Kilo reads them: just the fields it uses, as
// strings, before any validation. Decoding JSON/YAML into these is in
// objects_json.h; turning them into the model (with warnings) in translate.h.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace kilo {

struct NodeObject {
  std::string name;
  std::string resource_version;
  std::string uid;
  std::map<std::string, std::string> labels;
  // Decoded from a dump (objects_json.h): only the kilo.squat.ai/ ones.
  std::map<std::string, std::string> annotations;
  std::string pod_cidr;                // spec.podCIDR
  std::vector<std::string> pod_cidrs;  // spec.podCIDRs
};

// Whether `a` and `b` carry the same content, their resourceVersions aside
// (an update that changed only fields Kilo does not keep, e.g. a kubelet
// status update, arrives as an identical object with a new resourceVersion).
bool SameContent(const NodeObject& a, const NodeObject& b);
// What the mesh reads of `a` and `b` (name, uid, pod CIDR, labels and the
// annotations of kNodeAnnotationKeys) is the same but for the
// kilo.squat.ai/last-seen annotation: true when `a` and `b` differ at most
// by a heartbeat or by annotations the mesh does not read (e.g. kg's
// failover health reports).
bool SameContentButHeartbeat(const NodeObject& a, const NodeObject& b);

// A 64-bit digest (FNV-1a) of what SameContent compares, or, with
// `skip_last_seen`, of what SameContentButHeartbeat compares: equal objects
// have equal digests (a cache can keep the digest instead of a copy).
uint64_t ContentDigest(const NodeObject& n, bool skip_last_seen);

// The kilo.squat.ai/ annotations a Node translation reads, in this order.
inline constexpr const char* kNodeAnnotationKeys[] = {
    kAnnForceEndpoint,       kAnnForceInternalIP,    kAnnLeader,       kAnnLocation,
    kAnnPersistentKeepalive, kAnnAllowedLocationIPs, kAnnKey,          kAnnEndpoint,
    kAnnInternalIP,          kAnnLastSeen,           kAnnWireGuardIP,  kAnnGranularity,
    kAnnDiscoveredEndpoints, kAnnCNICompatibilityIP, kAnnWireGuardIP6, kAnnDualStack,
    kAnnInternalIP6,         kAnnLeaderBy,           kAnnPathHealth};
inline constexpr size_t kNumNodeAnnotations =
    sizeof(kNodeAnnotationKeys) / sizeof(kNodeAnnotationKeys[0]);
// Returns the index of `key` (a full annotation key) in kNodeAnnotationKeys,
// or -1.
int NodeAnnotationIndex(std::string_view key);

// What a Node translation reads of a Node, as views: into a NodeObject, or
// straight into a decoded dump (objects_json.h VisitClusterDump) so that a
// large dump is translated without building a NodeObject per Node.
struct NodeFields {
  std::string_view name;
  std::string_view pod_cidr;
  std::vector<std::string_view> pod_cidrs;  // spec.podCIDRs
  // The value of the topology label (TranslateOptions::topology_label).
  std::optional<std::string_view> topology_label;
  // Indexed like kNodeAnnotationKeys; nullopt when absent.
  std::array<std::optional<std::string_view>, kNumNodeAnnotations> annotations;

  // The fields of `obj`, viewing into it.
  static NodeFields Of(const NodeObject& obj, const std::string& topology_label);
};

struct PeerObject {
  std::string name;
  std::string resource_version;
  std::string uid;
  std::vector<std::string> allowed_ips;  // spec.allowedIPs
  bool has_allowed_ips = false;
  std::string public_key;            // spec.publicKey
  std::string preshared_key;         // spec.presharedKey
  bool has_endpoint = false;         // spec.endpoint present
  std::string endpoint_dns;          // spec.endpoint.dnsOrIP.dns
  std::string endpoint_ip;           // spec.endpoint.dnsOrIP.ip
  int64_t endpoint_port = 0;         // spec.endpoint.port
  int64_t persistent_keepalive = 0;  // spec.persistentKeepalive
  // Non-empty when a field had the wrong JSON type (e.g. port "abc"): the
  // Peer is then invalid and reported, never half-used.
  std::vector<std::string> type_errors;
};

// Whether `a` and `b` carry the same content, their resourceVersions aside.
bool SameContent(const PeerObject& a, const PeerObject& b);

// A kubectl List (or a watch/list response) split into Nodes and Peers, in
// input order. Other kinds are skipped.
struct ClusterObjects {
  std::vector<NodeObject> nodes;
  std::vector<PeerObject> peers;
  // Items skipped (unknown kind), for a notice.
  int skipped = 0;
};

}  // namespace kilo
