// The one decoder of Nodes and Peers (object_decode.h).

#include "core/object_decode.h"

#include <cmath>

namespace kilo::json_internal {

bool Key(od::field& f, std::string_view* out) {
  const char* p = f.key().raw();
  size_t n = QuoteOrBackslash(p);
  if (p[n] == '\\') return !f.unescaped_key().get(*out);
  *out = std::string_view(p, n);
  return true;
}

bool Str(od::value& v, JsonType* type, std::string_view* out) {
  std::string_view tok = v.raw_json_token();
  if (tok.empty()) return false;
  switch (tok[0]) {
    case '"': {
      const char* p = tok.data() + 1;
      size_t n = QuoteOrBackslash(p);
      if (p[n] == '\\') {
        if (v.get_string().get(*out)) return false;
      } else {
        *out = std::string_view(p, n);
      }
      *type = JsonType::kString;
      return true;
    }
    case '{':
    case '[':
      *type = JsonType::kOther;
      return true;
    default:
      if (tok[0] == '-' || (tok[0] >= '0' && tok[0] <= '9')) {
        // A number, checked as the DOM parser would.
        od::number num;
        *type = JsonType::kOther;
        return !v.get_number().get(num);
      }
      if (IsLiteral(tok, "null")) {
        *type = JsonType::kNull;
        return true;
      }
      *type = JsonType::kOther;
      return IsLiteral(tok, "true") || IsLiteral(tok, "false");
  }
}

bool StrOrEmpty(od::value& v, std::string_view* out) {
  JsonType t;
  if (!Str(v, &t, out)) return false;
  if (t != JsonType::kString) *out = {};
  return true;
}

bool IsObject(od::value& v, bool* is_object) {
  std::string_view tok = v.raw_json_token();
  *is_object = !tok.empty() && tok[0] == '{';
  if (*is_object) return true;
  JsonType t;
  std::string_view s;
  return Str(v, &t, &s);
}

bool StrArray(od::value v, std::vector<std::string_view>* out) {
  std::string_view tok = v.raw_json_token();
  if (tok.empty() || tok[0] != '[') return true;
  od::array a;
  if (v.get_array().get(a)) return false;
  for (auto er : a) {
    od::value e;
    if (std::move(er).get(e)) return false;
    JsonType t;
    std::string_view s;
    if (!Str(e, &t, &s)) return false;
    if (t == JsonType::kString) out->push_back(s);
  }
  return true;
}

namespace {

// Only name, resourceVersion and uid.
struct MetaSink {
  std::string_view *name, *rv, *uid;
  void Name(std::string_view v) { *name = v; }
  void ResourceVersion(std::string_view v) { *rv = v; }
  void Uid(std::string_view v) { *uid = v; }
  bool WantsLabel(std::string_view) const { return false; }
  void Label(std::string_view, std::string_view) {}
  bool WantsAnnotation(std::string_view) const { return false; }
  void Annotation(std::string_view, std::string_view) {}
};

struct NodeObjectSink {
  NodeObject* n;
  void Name(std::string_view v) { n->name = v; }
  void ResourceVersion(std::string_view v) { n->resource_version = v; }
  void Uid(std::string_view v) { n->uid = v; }
  void PodCIDR(std::string_view v) { n->pod_cidr = v; }
  void PodCIDRs(const std::vector<std::string_view>& v) {
    for (std::string_view c : v) n->pod_cidrs.emplace_back(c);
  }
  bool WantsLabel(std::string_view) const { return true; }
  // kubectl sorts keys: hinting at the end makes each insertion O(1); the
  // first of a repeated key stays.
  void Label(std::string_view k, std::string_view v) {
    n->labels.emplace_hint(n->labels.end(), std::string(k), std::string(v));
  }
  // Kilo reads only its own annotations (and kg its own too); skipping the
  // others (a real node carries a dozen) saves most of the allocations.
  bool WantsAnnotation(std::string_view k) const { return IsKiloAnnotation(k); }
  void Annotation(std::string_view k, std::string_view v) {
    n->annotations.emplace_hint(n->annotations.end(), std::string(k), std::string(v));
  }
};

// An integer field given as a JSON number (an integral double too);
// `error` otherwise.
bool IntField(od::value& v, const char* path, int64_t* out, std::string* error) {
  std::string_view tok = v.raw_json_token();
  if (tok.empty()) return false;
  if (tok[0] != '-' && (tok[0] < '0' || tok[0] > '9')) {
    JsonType t;
    std::string_view s;
    if (!Str(v, &t, &s)) return false;
    if (t != JsonType::kNull) *error = std::string(path) + " is not an integer";
    return true;
  }
  od::number num;
  if (v.get_number().get(num)) return false;
  switch (num.get_number_type()) {
    case od::number_type::signed_integer:
      *out = num.get_int64();
      return true;
    case od::number_type::floating_point_number: {
      double d = num.get_double();
      if (std::floor(d) == d && std::fabs(d) < 9e15) {
        *out = static_cast<int64_t>(d);
        return true;
      }
      break;
    }
    default:
      break;  // above INT64_MAX
  }
  *error = std::string(path) + " is not an integer";
  return true;
}

// A string field of a Peer: null is absent; `error` when not a string.
bool PeerStr(od::value& v, const char* path, std::string* out, std::string* error) {
  JsonType t;
  std::string_view s;
  if (!Str(v, &t, &s)) return false;
  if (t == JsonType::kString) {
    *out = s;
  } else if (t == JsonType::kOther) {
    *error = std::string(path) + " is not a string";
  }
  return true;
}

// The type errors of a Peer's spec, in the order they are reported.
enum PeerError { kAllowedIPs, kPublicKey, kPresharedKey, kKeepalive, kEndpoint, kDns, kIp, kPort };

// spec.allowedIPs: a list of strings; entries after a bad one are dropped.
bool AllowedIPs(od::value& val, PeerObject* p, std::string* error) {
  std::string_view tok = val.raw_json_token();
  if (tok.empty()) return false;
  JsonType t;
  std::string_view s;
  if (tok[0] != '[') {
    if (!Str(val, &t, &s)) return false;
    if (t != JsonType::kNull) *error = "spec.allowedIPs is not a list";
    return true;
  }
  p->has_allowed_ips = true;
  od::array a;
  if (val.get_array().get(a)) return false;
  for (auto er : a) {
    od::value e;
    if (std::move(er).get(e) || !Str(e, &t, &s)) return false;
    if (!error->empty()) continue;
    if (t == JsonType::kString) {
      p->allowed_ips.emplace_back(s);
    } else {
      *error = "spec.allowedIPs has a non-string entry";
    }
  }
  return true;
}

bool PeerEndpoint(od::value& v, PeerObject* p, std::array<std::string, 8>* errors) {
  JsonType t;
  std::string_view s;
  std::string_view tok = v.raw_json_token();
  if (tok.empty()) return false;
  if (tok[0] != '{') {
    if (!Str(v, &t, &s)) return false;
    if (t != JsonType::kNull) (*errors)[kEndpoint] = "spec.endpoint is not an object";
    return true;
  }
  p->has_endpoint = true;
  od::object ep;
  if (v.get_object().get(ep)) return false;
  static constexpr std::array<std::string_view, 2> kKeys = {"dnsOrIP", "port"};
  static constexpr std::array<std::string_view, 2> kDnsOrIP = {"dns", "ip"};
  return FirstFields(ep, kKeys, [&](size_t i, od::value& f) {
    if (i == 1) return IntField(f, "spec.endpoint.port", &p->endpoint_port, &(*errors)[kPort]);
    bool is_object;
    if (!IsObject(f, &is_object)) return false;
    if (!is_object) return true;
    od::object d;
    if (f.get_object().get(d)) return false;
    return FirstFields(d, kDnsOrIP, [&](size_t j, od::value& g) {
      return j == 0 ? PeerStr(g, "spec.endpoint.dnsOrIP.dns", &p->endpoint_dns, &(*errors)[kDns])
                    : PeerStr(g, "spec.endpoint.dnsOrIP.ip", &p->endpoint_ip, &(*errors)[kIp]);
    });
  });
}

bool PeerSpec(od::value& v, PeerObject* p) {
  bool is_object;
  if (!IsObject(v, &is_object)) return false;
  if (!is_object) {
    p->type_errors.push_back("spec is not an object");
    return true;
  }
  od::object spec;
  if (v.get_object().get(spec)) return false;
  std::array<std::string, 8> errors;
  static constexpr std::array<std::string_view, 5> kKeys = {
      "allowedIPs", "publicKey", "presharedKey", "persistentKeepalive", "endpoint"};
  bool ok = FirstFields(spec, kKeys, [&](size_t i, od::value& val) {
    switch (i) {
      case kAllowedIPs:
        return AllowedIPs(val, p, &errors[kAllowedIPs]);
      case kPublicKey:
        return PeerStr(val, "spec.publicKey", &p->public_key, &errors[kPublicKey]);
      case kPresharedKey:
        return PeerStr(val, "spec.presharedKey", &p->preshared_key, &errors[kPresharedKey]);
      case kKeepalive:
        return IntField(val, "spec.persistentKeepalive", &p->persistent_keepalive,
                        &errors[kKeepalive]);
      default:
        return PeerEndpoint(val, p, &errors);
    }
  });
  if (!ok) return false;
  for (auto& e : errors)
    if (!e.empty()) p->type_errors.push_back(std::move(e));
  return true;
}

bool NotAnObject(od::value& v, std::string* why) {
  JsonType t;
  std::string_view s;
  if (!Str(v, &t, &s)) return false;
  *why = "metadata missing";
  return true;
}

}  // namespace

bool ObjectMetaStrings(od::value v, std::string_view* name, std::string_view* rv,
                       std::string_view* uid) {
  MetaSink s{name, rv, uid};
  bool named;
  return NodeMetadata(v, &s, &named);
}

bool DecodeNode(od::object& obj, NodeObject* n, std::string* why) {
  NodeObjectSink s{n};
  return DecodeNode(obj, &s, why);
}

bool DecodePeer(od::object& obj, PeerObject* p, std::string* why) {
  bool meta_seen = false, spec_seen = false;
  static constexpr std::array<std::string_view, 2> kKeys = {"metadata", "spec"};
  if (!FirstFields(obj, kKeys, [&](size_t i, od::value& f) {
        if (i == 1) {
          spec_seen = true;
          return PeerSpec(f, p);
        }
        meta_seen = true;
        std::string_view name, rv, uid;
        if (!ObjectMetaStrings(f, &name, &rv, &uid)) return false;
        p->name = name;
        p->resource_version = rv;
        p->uid = uid;
        return true;
      }))
    return false;
  if (!meta_seen) {
    *why = "metadata missing";
  } else if (p->name.empty()) {
    *why = "metadata.name missing";
  } else if (!spec_seen) {
    p->type_errors.push_back("spec missing");
  }
  return true;
}

bool DecodeNode(od::value v, NodeObject* n, std::string* why) {
  std::string_view tok = v.raw_json_token();
  if (tok.empty()) return false;
  if (tok[0] != '{') return NotAnObject(v, why);
  od::object obj;
  return !v.get_object().get(obj) && DecodeNode(obj, n, why);
}

bool DecodePeer(od::value v, PeerObject* p, std::string* why) {
  std::string_view tok = v.raw_json_token();
  if (tok.empty()) return false;
  if (tok[0] != '{') return NotAnObject(v, why);
  od::object obj;
  return !v.get_object().get(obj) && DecodePeer(obj, p, why);
}

}  // namespace kilo::json_internal
