#pragma once
// coordination.k8s.io/v1 Leases: the fields kg's failover uses (SPEC 11.1),
// their JSON form, and the API paths. The calls are KubeClient's.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace kilo::k8s {

inline constexpr const char* kLeaseNamespace = "kube-system";

struct LeaseObject {
  std::string name;
  std::string namespace_ = kLeaseNamespace;
  // Empty when creating; the version read, when updating (a newer one on the
  // server makes the update lose with a conflict).
  std::string resource_version;
  std::string holder_identity;
  int64_t lease_duration_seconds = 0;
  // RFC 3339 with microseconds (MicroTime), as client-go writes them.
  std::string acquire_time;
  std::string renew_time;
  int64_t lease_transitions = 0;
};

// "/apis/coordination.k8s.io/v1/namespaces/<ns>/leases[/<name>]".
std::string LeasesPath(const std::string& ns);
std::string LeasePath(const std::string& ns, const std::string& name);

// The Lease as a complete coordination.k8s.io/v1 object (apiVersion, kind,
// metadata with resourceVersion when set, spec without the empty fields).
nlohmann::json EncodeLeaseJson(const LeaseObject& l);
// Reads a Lease object; an error names the field that is missing or of the
// wrong type.
Result<LeaseObject> DecodeLeaseJson(const nlohmann::json& j);

}  // namespace kilo::k8s
