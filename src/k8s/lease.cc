#include "k8s/lease.h"

#include "k8s/transport.h"

namespace kilo::k8s {

using nlohmann::json;

std::string LeasesPath(const std::string& ns) {
  return "/apis/coordination.k8s.io/v1/namespaces/" + QueryEscape(ns) + "/leases";
}

std::string LeasePath(const std::string& ns, const std::string& name) {
  return LeasesPath(ns) + "/" + QueryEscape(name);
}

json EncodeLeaseJson(const LeaseObject& l) {
  json meta = {{"name", l.name}, {"namespace", l.namespace_}};
  if (!l.resource_version.empty()) meta["resourceVersion"] = l.resource_version;
  json spec = json::object();
  if (!l.holder_identity.empty()) spec["holderIdentity"] = l.holder_identity;
  if (l.lease_duration_seconds > 0) spec["leaseDurationSeconds"] = l.lease_duration_seconds;
  if (!l.acquire_time.empty()) spec["acquireTime"] = l.acquire_time;
  if (!l.renew_time.empty()) spec["renewTime"] = l.renew_time;
  if (l.lease_transitions > 0) spec["leaseTransitions"] = l.lease_transitions;
  return {{"apiVersion", "coordination.k8s.io/v1"},
          {"kind", "Lease"},
          {"metadata", meta},
          {"spec", spec}};
}

Result<LeaseObject> DecodeLeaseJson(const json& j) {
  using R = Result<LeaseObject>;
  if (!j.is_object() || !j.contains("metadata") || !j["metadata"].is_object())
    return R::Error("decode lease: no metadata object");
  const json& m = j["metadata"];
  LeaseObject l;
  auto str = [](const json& o, const char* k, std::string* out) -> bool {
    if (!o.contains(k) || o[k].is_null()) return true;
    if (!o[k].is_string()) return false;
    *out = o[k].get<std::string>();
    return true;
  };
  auto num = [](const json& o, const char* k, int64_t* out) -> bool {
    if (!o.contains(k) || o[k].is_null()) return true;
    if (!o[k].is_number_integer()) return false;
    *out = o[k].get<int64_t>();
    return true;
  };
  if (!str(m, "name", &l.name) || l.name.empty())
    return R::Error("decode lease: metadata.name missing");
  std::string ns;
  if (!str(m, "namespace", &ns))
    return R::Error("decode lease " + l.name + ": metadata.namespace is not a string");
  if (!ns.empty()) l.namespace_ = ns;
  if (!str(m, "resourceVersion", &l.resource_version))
    return R::Error("decode lease " + l.name + ": metadata.resourceVersion is not a string");
  if (!j.contains("spec") || j["spec"].is_null()) return l;
  const json& s = j["spec"];
  if (!s.is_object()) return R::Error("decode lease " + l.name + ": spec is not an object");
  if (!str(s, "holderIdentity", &l.holder_identity))
    return R::Error("decode lease " + l.name + ": spec.holderIdentity is not a string");
  if (!num(s, "leaseDurationSeconds", &l.lease_duration_seconds))
    return R::Error("decode lease " + l.name + ": spec.leaseDurationSeconds is not an integer");
  if (!str(s, "acquireTime", &l.acquire_time))
    return R::Error("decode lease " + l.name + ": spec.acquireTime is not a string");
  if (!str(s, "renewTime", &l.renew_time))
    return R::Error("decode lease " + l.name + ": spec.renewTime is not a string");
  if (!num(s, "leaseTransitions", &l.lease_transitions))
    return R::Error("decode lease " + l.name + ": spec.leaseTransitions is not an integer");
  return l;
}

}  // namespace kilo::k8s
