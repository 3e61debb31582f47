#include "core/objects.h"

#include <string>
#include <string_view>

namespace kilo {

bool SameContent(const NodeObject& a, const NodeObject& b) {
  return a.name == b.name && a.uid == b.uid && a.pod_cidr == b.pod_cidr &&
         a.pod_cidrs == b.pod_cidrs && a.labels == b.labels && a.annotations == b.annotations;
}

namespace {

// An annotation the mesh reads, other than the heartbeat. kg's failover
// annotations are translated only for `kgctl graph`'s marks: a health report
// (every 5 s from a leader) builds no mesh.
bool MeshReads(const std::string& key) {
  return key != kAnnLastSeen && key != kAnnPathHealth && key != kAnnLeaderBy &&
         NodeAnnotationIndex(key) >= 0;
}

}  // namespace

bool SameContentButHeartbeat(const NodeObject& a, const NodeObject& b) {
  if (a.name != b.name || a.uid != b.uid || a.pod_cidr != b.pod_cidr ||
      a.pod_cidrs != b.pod_cidrs || a.labels != b.labels)
    return false;
  // Both maps are sorted: walk them side by side, skipping what the mesh
  // does not read.
  auto skip = [](auto it, auto end) {
    while (it != end && !MeshReads(it->first)) ++it;
    return it;
  };
  auto i = skip(a.annotations.begin(), a.annotations.end());
  auto j = skip(b.annotations.begin(), b.annotations.end());
  while (i != a.annotations.end() && j != b.annotations.end()) {
    if (*i != *j) return false;
    i = skip(std::next(i), a.annotations.end());
    j = skip(std::next(j), b.annotations.end());
  }
  return i == a.annotations.end() && j == b.annotations.end();
}

namespace {

// FNV-1a over length-prefixed fields (so that "ab"+"c" and "a"+"bc" differ).
class Fnv {
 public:
  void Add(std::string_view s) {
    uint64_t n = s.size();
    for (int i = 0; i < 8; ++i) Byte(static_cast<unsigned char>(n >> (8 * i)));
    for (char c : s) Byte(static_cast<unsigned char>(c));
  }
  uint64_t value() const { return h_; }

 private:
  void Byte(unsigned char c) {
    h_ ^= c;
    h_ *= 0x100000001b3ull;
  }
  uint64_t h_ = 0xcbf29ce484222325ull;
};

}  // namespace

uint64_t ContentDigest(const NodeObject& n, bool skip_last_seen) {
  Fnv h;
  h.Add(n.name);
  h.Add(n.uid);
  h.Add(n.pod_cidr);
  h.Add(std::to_string(n.pod_cidrs.size()));
  for (const auto& c : n.pod_cidrs) h.Add(c);
  h.Add(std::to_string(n.labels.size()));
  for (const auto& [k, v] : n.labels) {
    h.Add(k);
    h.Add(v);
  }
  for (const auto& [k, v] : n.annotations) {
    if (skip_last_seen && !MeshReads(k)) continue;
    h.Add(k);
    h.Add(v);
  }
  return h.value();
}

bool SameContent(const PeerObject& a, const PeerObject& b) {
  return a.name == b.name && a.uid == b.uid && a.allowed_ips == b.allowed_ips &&
         a.has_allowed_ips == b.has_allowed_ips && a.public_key == b.public_key &&
         a.preshared_key == b.preshared_key && a.has_endpoint == b.has_endpoint &&
         a.endpoint_dns == b.endpoint_dns && a.endpoint_ip == b.endpoint_ip &&
         a.endpoint_port == b.endpoint_port && a.persistent_keepalive == b.persistent_keepalive &&
         a.type_errors == b.type_errors;
}

}  // namespace kilo
