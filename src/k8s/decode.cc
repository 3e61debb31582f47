#include "k8s/decode.h"

namespace kilo::k8s {
namespace {

using nlohmann::json;

const json* Find(const json& o, const char* key) {
  if (!o.is_object()) return nullptr;
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string Str(const json& o, const char* key) {
  const json* v = Find(o, key);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

void StringMap(const json& o, const char* key, std::map<std::string, std::string>* out) {
  const json* m = Find(o, key);
  if (!m || !m->is_object()) return;
  for (auto it = m->begin(); it != m->end(); ++it) {
    if (it->is_string()) out->emplace(it.key(), it->get<std::string>());
  }
}

struct Meta {
  std::string name, rv, uid;
};

Result<Meta> DecodeMeta(const json& j, const char* kind) {
  if (!j.is_object()) return Result<Meta>::Error(std::string(kind) + " is not a JSON object");
  const json* md = Find(j, "metadata");
  if (!md || !md->is_object()) return Result<Meta>::Error(std::string(kind) + " has no metadata");
  Meta m{Str(*md, "name"), Str(*md, "resourceVersion"), Str(*md, "uid")};
  if (m.name.empty()) return Result<Meta>::Error(std::string(kind) + " has no metadata.name");
  return m;
}

// An integer JSON value: integral numbers, or floats with no fraction (JSON
// from some clients encodes 25 as 25.0).
std::optional<int64_t> Int(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    // Out of int64 range (or NaN/inf), the cast would be undefined behaviour.
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return std::nullopt;
    if (d == static_cast<double>(static_cast<int64_t>(d))) return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

const char* TypeName(const json& v) {
  return v.type_name();
}

}  // namespace

Result<NodeObject> DecodeNodeJson(const json& j) {
  auto meta = DecodeMeta(j, "Node");
  if (!meta) return meta.status();
  NodeObject n;
  n.name = std::move(meta->name);
  n.resource_version = std::move(meta->rv);
  n.uid = std::move(meta->uid);
  const json& md = j["metadata"];
  StringMap(md, "labels", &n.labels);
  StringMap(md, "annotations", &n.annotations);
  if (const json* spec = Find(j, "spec")) {
    n.pod_cidr = Str(*spec, "podCIDR");
    if (const json* cidrs = Find(*spec, "podCIDRs"); cidrs && cidrs->is_array()) {
      for (const auto& c : *cidrs) {
        if (c.is_string()) n.pod_cidrs.push_back(c.get<std::string>());
      }
    }
  }
  return n;
}

Result<PeerObject> DecodePeerJson(const json& j) {
  auto meta = DecodeMeta(j, "Peer");
  if (!meta) return meta.status();
  PeerObject p;
  p.name = std::move(meta->name);
  p.resource_version = std::move(meta->rv);
  p.uid = std::move(meta->uid);
  const json* spec = Find(j, "spec");
  if (!spec) return p;
  if (!spec->is_object()) {
    p.type_errors.push_back(std::string("spec: expected an object, got ") + TypeName(*spec));
    return p;
  }
  auto type_error = [&](const std::string& field, const char* want, const json& got) {
    p.type_errors.push_back(field + ": expected " + want + ", got " + TypeName(got));
  };
  if (const json* a = Find(*spec, "allowedIPs")) {
    if (!a->is_array()) {
      type_error("spec.allowedIPs", "a list of strings", *a);
    } else {
      p.has_allowed_ips = true;
      for (size_t i = 0; i < a->size(); ++i) {
        const json& e = (*a)[i];
        if (e.is_string()) {
          p.allowed_ips.push_back(e.get<std::string>());
        } else {
          type_error("spec.allowedIPs[" + std::to_string(i) + "]", "a string", e);
        }
      }
    }
  }
  auto string_field = [&](const json& o, const char* key, const std::string& path,
                          std::string* out) {
    if (const json* v = Find(o, key)) {
      if (v->is_string()) {
        *out = v->get<std::string>();
      } else {
        type_error(path, "a string", *v);
      }
    }
  };
  string_field(*spec, "publicKey", "spec.publicKey", &p.public_key);
  string_field(*spec, "presharedKey", "spec.presharedKey", &p.preshared_key);
  if (const json* ka = Find(*spec, "persistentKeepalive")) {
    if (auto v = Int(*ka)) {
      p.persistent_keepalive = *v;
    } else {
      type_error("spec.persistentKeepalive", "an integer", *ka);
    }
  }
  if (const json* ep = Find(*spec, "endpoint")) {
    if (!ep->is_object()) {
      type_error("spec.endpoint", "an object", *ep);
    } else {
      p.has_endpoint = true;
      if (const json* d = Find(*ep, "dnsOrIP")) {
        if (!d->is_object()) {
          type_error("spec.endpoint.dnsOrIP", "an object", *d);
        } else {
          string_field(*d, "dns", "spec.endpoint.dnsOrIP.dns", &p.endpoint_dns);
          string_field(*d, "ip", "spec.endpoint.dnsOrIP.ip", &p.endpoint_ip);
        }
      }
      if (const json* port = Find(*ep, "port")) {
        if (auto v = Int(*port)) {
          p.endpoint_port = *v;
        } else {
          type_error("spec.endpoint.port", "an integer", *port);
        }
      }
    }
  }
  return p;
}

json EncodePeerSpec(const PeerObject& p) {
  json spec = json::object();
  spec["allowedIPs"] = p.allowed_ips;
  spec["publicKey"] = p.public_key;
  if (!p.preshared_key.empty()) spec["presharedKey"] = p.preshared_key;
  if (p.persistent_keepalive != 0) spec["persistentKeepalive"] = p.persistent_keepalive;
  if (p.has_endpoint || !p.endpoint_dns.empty() || !p.endpoint_ip.empty()) {
    json dnsorip = json::object();
    if (!p.endpoint_dns.empty()) dnsorip["dns"] = p.endpoint_dns;
    if (!p.endpoint_ip.empty()) dnsorip["ip"] = p.endpoint_ip;
    spec["endpoint"] = {{"dnsOrIP", dnsorip}, {"port", p.endpoint_port}};
  }
  return spec;
}

json EncodePeerJson(const PeerObject& p) {
  json md = {{"name", p.name}};
  if (!p.resource_version.empty()) md["resourceVersion"] = p.resource_version;
  return {{"apiVersion", kPeerApiVersion}, {"kind", kPeerKind}, {"metadata", md},
          {"spec", EncodePeerSpec(p)}};
}

}  // namespace kilo::k8s
