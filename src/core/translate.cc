#include "core/translate.h"

#include <simdjson.h>

#include <charconv>

namespace kilo {
namespace {

std::string Display(std::string_view v) {
  constexpr size_t kMax = 80;
  std::string out;
  for (char c : v.substr(0, kMax)) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  if (v.size() > kMax) out += "...(" + std::to_string(v.size()) + " bytes)";
  return out;
}

void Warn(std::vector<Warning>* w, const char* kind, const std::string& name,
          std::string_view field, std::string_view value, std::string reason) {
  if (!w) return;
  w->push_back(Warning{kind, name, std::string(field), Display(value), std::move(reason)});
}

// The values of the kilo.squat.ai/ annotations a Node translation reads,
// found in one pass over the object's annotations.
class KiloAnnotations {
 public:
  explicit KiloAnnotations(const std::map<std::string, std::string>& m) {
    constexpr std::string_view kPrefix = kAnnotationPrefix;
    // The map is sorted: the kilo.squat.ai/ keys are contiguous.
    for (auto it = m.lower_bound(std::string(kPrefix)); it != m.end(); ++it) {
      std::string_view k = it->first;
      if (k.substr(0, kPrefix.size()) != kPrefix) break;
      for (size_t i = 0; i < kNum; ++i) {
        if (k == kKeys[i]) {
          values_[i] = &it->second;
          break;
        }
      }
    }
  }
  // Returns the value of `key` (one of kKeys), or null when absent.
  const std::string* Get(const char* key) const {
    for (size_t i = 0; i < kNum; ++i)
      if (kKeys[i] == key || std::string_view(kKeys[i]) == key) return values_[i];
    return nullptr;
  }

 private:
  static constexpr const char* kKeys[] = {
      kAnnForceEndpoint, kAnnForceInternalIP, kAnnLeader,    kAnnLocation,
      kAnnPersistentKeepalive, kAnnAllowedLocationIPs, kAnnKey, kAnnEndpoint,
      kAnnInternalIP,   kAnnLastSeen,        kAnnWireGuardIP, kAnnGranularity,
      kAnnDiscoveredEndpoints};
  static constexpr size_t kNum = sizeof(kKeys) / sizeof(kKeys[0]);
  const std::string* values_[kNum] = {};
};

const std::string* Find(const KiloAnnotations& a, const char* key) { return a.Get(key); }

}  // namespace

std::string Warning::String() const {
  std::string what = kind == "node" ? "annotation " : "field ";
  // The name comes from the input too (a dump file is not validated by an
  // API server): keep the warning on one line, as the value is.
  return kind + " \"" + Display(name) + "\": " + what + Display(field) + "=\"" + value +
         "\": " + reason;
}

std::optional<int64_t> ParseGoInt64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  size_t i = 0;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    i = 1;
  }
  if (i >= s.size()) return std::nullopt;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (!neg && v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  if (neg && v > static_cast<uint64_t>(INT64_MAX) + 1) return std::nullopt;
  return neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
}

std::optional<std::map<std::string, Endpoint>> ParseDiscoveredEndpoints(std::string_view json,
                                                                        std::string* why) {
  std::map<std::string, Endpoint> out;
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (auto err = parser.parse(padded).get(root)) {
    if (why) *why = std::string("not valid JSON: ") + simdjson::error_message(err);
    return std::nullopt;
  }
  if (root.is_null()) return out;  // Go: "null" unmarshals to a nil map
  simdjson::dom::object obj;
  if (root.get(obj)) {
    if (why) *why = "not a JSON object of public key -> {IP, Port, Zone}";
    return std::nullopt;
  }
  for (auto field : obj) {
    std::string key(field.key);
    if (field.value.is_null()) continue;  // a nil *UDPAddr: nothing usable
    simdjson::dom::object ep;
    if (field.value.get(ep)) {
      if (why) *why = "entry for " + key + " is not an object";
      return std::nullopt;
    }
    IPAddr ip;
    int64_t port = 0;
    for (auto f : ep) {
      // encoding/json matches field names case-insensitively.
      std::string name(f.key);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (name == "ip") {
        std::string_view s;
        if (f.value.is_null()) continue;
        if (f.value.get(s)) {
          if (why) *why = "IP of " + key + " is not a string";
          return std::nullopt;
        }
        if (s.empty()) continue;
        auto parsed = IPAddr::Parse(s);
        if (!parsed) {
          if (why) *why = "IP of " + key + " is not an IP address";
          return std::nullopt;
        }
        ip = *parsed;
      } else if (name == "port") {
        if (f.value.is_null()) continue;
        if (f.value.get(port)) {
          if (why) *why = "Port of " + key + " is not an integer";
          return std::nullopt;
        }
      }
    }
    if (ip.valid() && port > 0 && port <= 65535) {
      out[key] = Endpoint(ip, static_cast<uint16_t>(port));
    }
  }
  return out;
}

namespace {

// A JSON string as Go's encoding/json writes it (HTML-safe: <, >, & escaped).
// Keys are public keys in practice, but the map comes from an annotation
// anyone can write: without escaping it would render invalid JSON.
void AppendGoJsonString(std::string_view s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (c < 0x20 || c == '<' || c == '>' || c == '&') {
          *out += "\\u00";
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xf]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

}  // namespace

std::string RenderDiscoveredEndpoints(const std::map<std::string, Endpoint>& eps) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, e] : eps) {
    if (!first) out += ',';
    first = false;
    AppendGoJsonString(k, &out);
    out += ":{\"IP\":\"" + e.ip().String() + "\",\"Port\":" + std::to_string(e.port()) +
           ",\"Zone\":\"\"}";
  }
  return out + "}";
}

Node TranslateNode(const NodeObject& obj, const TranslateOptions& opts,
                   std::vector<Warning>* warnings) {
  Node n;
  n.name = obj.name;
  // One pass over the annotations instead of a map lookup per key: each
  // lookup with a `const char*` key would build a temporary std::string (an
  // allocation, the keys are longer than the SSO buffer), 14 per node.
  KiloAnnotations ann(obj.annotations);
  auto warn = [&](const char* key, std::string_view v, std::string reason) {
    Warn(warnings, "node", obj.name, key, v, std::move(reason));
  };

  if (auto p = IPPrefix::Parse(obj.pod_cidr)) {
    n.subnet = p->Network();
  } else if (!obj.pod_cidr.empty()) {
    Warn(warnings, "node", obj.name, "spec.podCIDR", obj.pod_cidr, "not a CIDR; the node is not ready");
  }
  n.leader = Find(ann, kAnnLeader) != nullptr;
  if (const auto* loc = Find(ann, kAnnLocation)) {
    n.location = *loc;
  } else if (auto it = obj.labels.find(opts.topology_label); it != obj.labels.end()) {
    n.location = it->second;
  }

  // Endpoint: force-endpoint, else endpoint.
  std::string why;
  if (const auto* fe = Find(ann, kAnnForceEndpoint)) {
    if (auto e = Endpoint::Parse(*fe, &why)) {
      n.endpoint = *e;
    } else {
      warn(kAnnForceEndpoint, *fe, why + "; using kilo.squat.ai/endpoint instead");
    }
  }
  if (!n.endpoint) {
    if (const auto* e = Find(ann, kAnnEndpoint)) {
      if (auto p = Endpoint::Parse(*e, &why)) {
        n.endpoint = *p;
      } else if (!e->empty()) {
        warn(kAnnEndpoint, *e, why);
      }
    }
  }

  // Internal IP: force-internal-ip ("" or "-" = none), else internal-ip.
  const auto* fip = Find(ann, kAnnForceInternalIP);
  if (fip && (fip->empty() || *fip == "-")) {
    n.no_internal_ip = true;
  } else {
    if (fip) {
      if (auto p = IPPrefix::Parse(*fip)) {
        n.internal_ip = *p;
      } else {
        warn(kAnnForceInternalIP, *fip, "not a CIDR (use e.g. 10.0.0.5/24, or \"-\" for no private IP); using kilo.squat.ai/internal-ip instead");
      }
    }
    if (!n.internal_ip) {
      if (const auto* iip = Find(ann, kAnnInternalIP)) {
        if (auto p = IPPrefix::Parse(*iip)) {
          n.internal_ip = *p;
        } else if (!iip->empty()) {
          warn(kAnnInternalIP, *iip, "not a CIDR");
        }
      }
    }
  }

  if (const auto* ka = Find(ann, kAnnPersistentKeepalive)) {
    auto v = ParseGoInt64(*ka);
    if (!v) {
      warn(kAnnPersistentKeepalive, *ka, "not an integer number of seconds; using 0");
    } else if (*v < 0 || *v > 65535) {
      warn(kAnnPersistentKeepalive, *ka, "out of range 0-65535; using 0");
    } else {
      n.persistent_keepalive = static_cast<int>(*v);
    }
  }
  if (const auto* ls = Find(ann, kAnnLastSeen)) {
    if (auto v = ParseGoInt64(*ls)) {
      n.last_seen = *v;
    } else {
      warn(kAnnLastSeen, *ls, "not a unix timestamp; the node is not ready");
    }
  }
  if (const auto* de = Find(ann, kAnnDiscoveredEndpoints)) {
    if (auto eps = ParseDiscoveredEndpoints(*de, &why)) {
      n.discovered_endpoints = std::move(*eps);
    } else {
      warn(kAnnDiscoveredEndpoints, *de, why + "; ignored");
    }
  }
  if (const auto* al = Find(ann, kAnnAllowedLocationIPs)) {
    std::string_view s = *al;
    size_t start = 0;
    // One warning per bad entry, up to a bound: the annotation is user input
    // and may hold any number of entries.
    constexpr size_t kMaxEntryWarnings = 8;
    size_t bad = 0;
    while (true) {
      size_t comma = s.find(',', start);
      std::string_view item = s.substr(start, comma == std::string_view::npos ? s.npos : comma - start);
      if (auto p = IPPrefix::Parse(item)) {
        n.allowed_location_ips.push_back(*p);
      } else if (++bad <= kMaxEntryWarnings) {
        warn(kAnnAllowedLocationIPs, item, "entry is not a CIDR (no spaces allowed); dropped");
      }
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (bad > kMaxEntryWarnings) {
      warn(kAnnAllowedLocationIPs, *al,
           std::to_string(bad - kMaxEntryWarnings) + " more entries are not CIDRs; dropped");
    }
  }
  if (const auto* g = Find(ann, kAnnGranularity)) {
    n.granularity = ParseGranularity(*g);
    if (!n.granularity && !g->empty()) warn(kAnnGranularity, *g, "must be \"location\" or \"full\"");
  }
  if (const auto* k = Find(ann, kAnnKey)) {
    if (auto key = Key::Parse(*k)) {
      n.key = *key;
    } else if (!k->empty()) {
      warn(kAnnKey, *k, "not a base64 WireGuard key (32 bytes); the node is not ready");
    }
  }
  if (const auto* w = Find(ann, kAnnWireGuardIP)) {
    if (auto p = IPPrefix::Parse(*w)) {
      n.wireguard_ip = *p;
    } else if (!w->empty()) {
      warn(kAnnWireGuardIP, *w, "not a CIDR");
    }
  }
  return n;
}

std::optional<Peer> TranslatePeer(const PeerObject& obj, std::vector<Warning>* warnings) {
  auto invalid = [&](std::string_view field, std::string_view value, std::string reason) {
    Warn(warnings, "peer", obj.name, field, value, reason + "; the Peer is ignored");
    return std::nullopt;
  };
  if (!obj.type_errors.empty()) return invalid("spec", "", obj.type_errors.front());
  Peer p;
  p.name = obj.name;
  for (const auto& aip : obj.allowed_ips) {
    auto pfx = IPPrefix::Parse(aip);
    if (!pfx) return invalid("spec.allowedIPs", aip, "not a CIDR");
    p.allowed_ips.push_back(*pfx);
  }
  if (obj.has_endpoint) {
    if (obj.endpoint_ip.empty() && obj.endpoint_dns.empty())
      return invalid("spec.endpoint", "", "needs dnsOrIP.ip or dnsOrIP.dns");
    if (!obj.endpoint_dns.empty() && !IsDNS1123Subdomain(obj.endpoint_dns))
      return invalid("spec.endpoint.dnsOrIP.dns", obj.endpoint_dns, "not an RFC 1123 DNS name");
    std::optional<IPAddr> ip;
    if (!obj.endpoint_ip.empty()) {
      ip = IPAddr::Parse(obj.endpoint_ip);
      if (!ip) return invalid("spec.endpoint.dnsOrIP.ip", obj.endpoint_ip, "not an IP address");
    }
    if (obj.endpoint_port < 1 || obj.endpoint_port > 65535)
      return invalid("spec.endpoint.port", std::to_string(obj.endpoint_port), "must be 1-65535");
    auto port = static_cast<uint16_t>(obj.endpoint_port);
    // Like Kilo: when both are set, the DNS name is used.
    p.endpoint = !obj.endpoint_dns.empty() ? Endpoint::FromDNS(obj.endpoint_dns, port)
                                           : Endpoint(*ip, port);
  }
  if (obj.persistent_keepalive < 0)
    return invalid("spec.persistentKeepalive", std::to_string(obj.persistent_keepalive),
                   "must not be negative");
  if (obj.persistent_keepalive > 65535)
    return invalid("spec.persistentKeepalive", std::to_string(obj.persistent_keepalive),
                   "must be at most 65535");
  p.persistent_keepalive = static_cast<int>(obj.persistent_keepalive);
  auto key = Key::Parse(obj.public_key);
  if (!key) return invalid("spec.publicKey", obj.public_key, "not a base64 WireGuard key (32 bytes)");
  p.public_key = *key;
  if (!obj.preshared_key.empty()) {
    if (auto psk = Key::Parse(obj.preshared_key)) {
      p.preshared_key = *psk;
    } else {
      // Never echo key material, even a malformed one.
      Warn(warnings, "peer", obj.name, "spec.presharedKey", "<redacted>",
           "not a base64 key (32 bytes); dropped, the Peer is kept without it");
    }
  }
  return p;
}

}  // namespace kilo
