#include "core/translate.h"

#include <simdjson.h>

#include <charconv>

#include "core/objects_json.h"

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

void Warn(std::vector<Warning>* w, const char* kind, std::string_view name, std::string_view field,
          std::string_view value, std::string reason) {
  if (!w) return;
  w->push_back(
      Warning{kind, std::string(name), std::string(field), Display(value), std::move(reason)});
}

}  // namespace

std::string Warning::String() const {
  // Node warnings are about annotations ("kilo.squat.ai/..."), except for the
  // few about a Node's own fields (spec.podCIDR).
  std::string what =
      kind == "node" && field.find('/') != std::string::npos ? "annotation " : "field ";
  // The name comes from the input too (a dump file is not validated by an
  // API server): keep the warning on one line, as the value is.
  return kind + " \"" + Display(name) + "\": " + what + Display(field) + "=\"" + value +
         "\": " + reason;
}

int NodeAnnotationIndex(std::string_view key) {
  constexpr std::string_view kPrefix = kAnnotationPrefix;
  if (key.size() <= kPrefix.size() || key.compare(0, kPrefix.size(), kPrefix) != 0) {
    // This project's own keys (kg.kilo.squat.ai/), compared whole.
    if (!IsKiloAnnotation(key)) return -1;
    for (size_t i = 0; i < kNumNodeAnnotations; ++i) {
      if (key == kNodeAnnotationKeys[i]) return static_cast<int>(i);
    }
    return -1;
  }
  for (size_t i = 0; i < kNumNodeAnnotations; ++i) {
    std::string_view k = kNodeAnnotationKeys[i];
    if (k.size() == key.size() &&
        key.compare(kPrefix.size(), key.npos, k.substr(kPrefix.size())) == 0)
      return static_cast<int>(i);
  }
  return -1;
}

NodeFields NodeFields::Of(const NodeObject& obj, const std::string& topology_label) {
  NodeFields f;
  f.name = obj.name;
  f.pod_cidr = obj.pod_cidr;
  f.pod_cidrs.assign(obj.pod_cidrs.begin(), obj.pod_cidrs.end());
  if (auto it = obj.labels.find(topology_label); it != obj.labels.end())
    f.topology_label = it->second;
  // The map is sorted: the kilo.squat.ai/ keys are contiguous. One pass
  // instead of a lookup per key (each would build a temporary std::string).
  constexpr std::string_view kPrefix = kAnnotationPrefix;
  for (auto it = obj.annotations.lower_bound(std::string(kPrefix)); it != obj.annotations.end();
       ++it) {
    std::string_view k = it->first;
    if (k.substr(0, kPrefix.size()) != kPrefix) break;
    if (int i = NodeAnnotationIndex(k); i >= 0) f.annotations[i] = it->second;
  }
  // This project's own keys sort before Kilo's.
  constexpr std::string_view kOwn = kOwnAnnotationPrefix;
  for (auto it = obj.annotations.lower_bound(std::string(kOwn)); it != obj.annotations.end();
       ++it) {
    std::string_view k = it->first;
    if (k.substr(0, kOwn.size()) != kOwn) break;
    if (int i = NodeAnnotationIndex(k); i >= 0) f.annotations[i] = it->second;
  }
  return f;
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
  // 19 digits cannot overflow 64 bits; only longer inputs are checked.
  bool check = s.size() - i > 19;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (check && v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (!neg && v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  if (neg && v > static_cast<uint64_t>(INT64_MAX) + 1) return std::nullopt;
  return neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
}

std::optional<std::map<std::string, Endpoint>> ParseDiscoveredEndpoints(std::string_view json,
                                                                        std::string* why) {
  std::map<std::string, Endpoint> out;
  // Go agents write "" when they have none (Kilo 0.6 and 0.7): empty, no
  // warning.
  if (json.empty()) return out;
  // One parser per thread for the usual small values: a dump has the
  // annotation on many Nodes, and a parser allocates its buffers on first
  // use (a large value gets its own, not kept).
  thread_local simdjson::dom::parser small_parser;
  simdjson::dom::parser large_parser;
  simdjson::dom::parser& parser = json.size() <= 4096 ? small_parser : large_parser;
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

std::string RenderDiscoveredEndpoints(const std::map<std::string, Endpoint>& eps) {
  if (eps.empty()) return "";  // as Go agents write it: they read "{}" and "" alike
  std::string out = "{";
  bool first = true;
  for (const auto& [k, e] : eps) {
    if (!first) out += ',';
    first = false;
    // Keys are public keys in practice, but the map comes from an annotation
    // anyone can write: escape as Go does (HTML-safe), or the JSON breaks.
    AppendJsonString(k, &out, /*html_safe=*/true);
    out += ":{\"IP\":\"" + e.ip().String() + "\",\"Port\":" + std::to_string(e.port()) +
           ",\"Zone\":\"\"}";
  }
  return out + "}";
}

Node TranslateNode(const NodeObject& obj, const TranslateOptions& opts,
                   std::vector<Warning>* warnings) {
  Node n;
  TranslateNodeFields(NodeFields::Of(obj, opts.topology_label), &n, warnings);
  return n;
}

namespace {
template <size_t N>
constexpr size_t AnnIndex(const char* key) {
  for (size_t i = 0; i < N; ++i)
    if (std::string_view(kNodeAnnotationKeys[i]) == key) return i;
  return N;
}
}  // namespace

namespace {

// spec.podCIDRs (SPEC 11.3): without spec.podCIDR its first entry is the pod
// CIDR; every other valid one is an extra (the other family's) pod CIDR. The
// capability annotation too. Bad entries are reported and skipped.
void TranslatePodCIDRs(const NodeFields& f, Node* n, std::vector<Warning>* warnings) {
  for (std::string_view c : f.pod_cidrs) {
    auto p = IPPrefix::Parse(c);
    if (!p) {
      Warn(warnings, "node", f.name, "spec.podCIDRs", c, "not a CIDR; skipped");
      continue;
    }
    IPPrefix net = p->Network();
    if (!n->subnet && f.pod_cidr.empty()) {
      n->subnet = net;
      continue;
    }
    if ((n->subnet && net == *n->subnet) ||
        std::find(n->extra_subnets.begin(), n->extra_subnets.end(), net) != n->extra_subnets.end())
      continue;
    // Kubernetes allows one pod CIDR per family; a second one of a family
    // could not be routed next to the first (its gateways are per family).
    const bool is6 = net.addr().is6();
    bool taken = n->subnet && n->subnet->addr().is6() == is6;
    for (const auto& e : n->extra_subnets) taken |= e.addr().is6() == is6;
    if (taken) {
      Warn(warnings, "node", f.name, "spec.podCIDRs", c,
           std::string("a second ") + (is6 ? "IPv6" : "IPv4") +
               " pod CIDR (Kubernetes allows one per family); skipped");
      continue;
    }
    n->extra_subnets.push_back(net);
  }
  constexpr size_t kDualStack = AnnIndex<kNumNodeAnnotations>(kAnnDualStack);
  n->dual_stack = f.annotations[kDualStack].has_value();
  constexpr size_t kInternal6 = AnnIndex<kNumNodeAnnotations>(kAnnInternalIP6);
  if (const auto& v = f.annotations[kInternal6]) {
    auto p = IPPrefix::Parse(*v);
    if (p && p->addr().is6()) {
      n->internal_ip6 = p->addr();
    } else if (!v->empty()) {
      Warn(warnings, "node", f.name, kAnnInternalIP6, *v, "not an IPv6 CIDR");
    }
  }
  constexpr size_t kIP6 = AnnIndex<kNumNodeAnnotations>(kAnnWireGuardIP6);
  if (const auto& w = f.annotations[kIP6]) {
    auto p = IPPrefix::Parse(*w);
    if (p && p->addr().is6()) {
      n->wireguard_ip6 = *p;
    } else if (!w->empty()) {
      Warn(warnings, "node", f.name, kAnnWireGuardIP6, *w, "not an IPv6 CIDR");
    }
  }
}

}  // namespace

void TranslateNodeFields(const NodeFields& f, Node* out, std::vector<Warning>* warnings) {
  Node& n = *out;
  n.name = f.name;
  // The annotation `key` (one of kNodeAnnotationKeys), or null when absent.
#define KILO_ANN(key)                                                              \
  ([&]() -> const std::string_view* {                                              \
    constexpr size_t i = AnnIndex<kNumNodeAnnotations>(key);                       \
    static_assert(i < kNumNodeAnnotations, "not an annotation translation reads"); \
    return f.annotations[i] ? &*f.annotations[i] : nullptr;                        \
  }())
  auto warn = [&](const char* key, std::string_view v, std::string reason) {
    Warn(warnings, "node", f.name, key, v, std::move(reason));
  };

  if (auto p = IPPrefix::Parse(f.pod_cidr)) {
    n.subnet = p->Network();
  } else if (!f.pod_cidr.empty()) {
    Warn(warnings, "node", f.name, "spec.podCIDR", f.pod_cidr, "not a CIDR; the node is not ready");
  }
  TranslatePodCIDRs(f, &n, warnings);
  n.leader = KILO_ANN(kAnnLeader) != nullptr;
  n.leader_by_kg = KILO_ANN(kAnnLeaderBy) != nullptr;
  if (const auto* h = KILO_ANN(kAnnPathHealth)) n.path_health = *h;
  if (const auto* loc = KILO_ANN(kAnnLocation)) {
    n.location = *loc;
  } else if (f.topology_label) {
    n.location = *f.topology_label;
  }

  // Endpoint: force-endpoint, else endpoint.
  std::string why;
  if (const auto* fe = KILO_ANN(kAnnForceEndpoint)) {
    if (auto e = Endpoint::Parse(*fe, &why)) {
      n.endpoint = std::move(*e);
    } else {
      warn(kAnnForceEndpoint, *fe, why + "; using kilo.squat.ai/endpoint instead");
    }
  }
  if (!n.endpoint) {
    if (const auto* e = KILO_ANN(kAnnEndpoint)) {
      if (auto p = Endpoint::Parse(*e, &why)) {
        n.endpoint = std::move(*p);
      } else if (!e->empty()) {
        warn(kAnnEndpoint, *e, why);
      }
    }
  }

  // Internal IP: force-internal-ip ("" or "-" = none), else internal-ip.
  const auto* fip = KILO_ANN(kAnnForceInternalIP);
  if (fip && (fip->empty() || *fip == "-")) {
    n.no_internal_ip = true;
  } else {
    if (fip) {
      if (auto p = IPPrefix::Parse(*fip)) {
        n.internal_ip = *p;
      } else {
        warn(kAnnForceInternalIP, *fip,
             "not a CIDR (use e.g. 10.0.0.5/24, or \"-\" for no private IP); using "
             "kilo.squat.ai/internal-ip instead");
      }
    }
    if (!n.internal_ip) {
      if (const auto* iip = KILO_ANN(kAnnInternalIP)) {
        if (auto p = IPPrefix::Parse(*iip)) {
          n.internal_ip = *p;
        } else if (!iip->empty()) {
          warn(kAnnInternalIP, *iip, "not a CIDR");
        }
      }
    }
  }

  if (const auto* ka = KILO_ANN(kAnnPersistentKeepalive)) {
    auto v = ParseGoInt64(*ka);
    if (!v) {
      warn(kAnnPersistentKeepalive, *ka, "not an integer number of seconds; using 0");
    } else if (*v < 0 || *v > 65535) {
      warn(kAnnPersistentKeepalive, *ka, "out of range 0-65535; using 0");
    } else {
      n.persistent_keepalive = static_cast<int>(*v);
    }
  }
  if (const auto* ls = KILO_ANN(kAnnLastSeen)) {
    if (auto v = ParseGoInt64(*ls)) {
      n.last_seen = *v;
    } else {
      warn(kAnnLastSeen, *ls, "not a unix timestamp; the node is not ready");
    }
  }
  if (const auto* de = KILO_ANN(kAnnDiscoveredEndpoints)) {
    if (auto eps = ParseDiscoveredEndpoints(*de, &why)) {
      n.discovered_endpoints = std::move(*eps);
    } else {
      warn(kAnnDiscoveredEndpoints, *de, why + "; ignored");
    }
  }
  if (const auto* al = KILO_ANN(kAnnAllowedLocationIPs)) {
    std::string_view s = *al;
    size_t start = 0;
    // One warning per bad entry, up to a bound: the annotation is user input
    // and may hold any number of entries.
    constexpr size_t kMaxEntryWarnings = 8;
    size_t bad = 0;
    while (true) {
      size_t comma = s.find(',', start);
      std::string_view item =
          s.substr(start, comma == std::string_view::npos ? s.npos : comma - start);
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
  if (const auto* g = KILO_ANN(kAnnGranularity)) {
    n.granularity = ParseGranularity(*g);
    if (!n.granularity && !g->empty())
      warn(kAnnGranularity, *g, "must be \"location\", \"full\" or \"cross\"");
  }
  if (const auto* k = KILO_ANN(kAnnKey)) {
    if (auto key = Key::Parse(*k)) {
      n.key = *key;
    } else if (!k->empty()) {
      warn(kAnnKey, *k, "not a base64 WireGuard key (32 bytes); the node is not ready");
    }
  }
  if (const auto* w = KILO_ANN(kAnnWireGuardIP)) {
    if (auto p = IPPrefix::Parse(*w)) {
      n.wireguard_ip = *p;
    } else if (!w->empty()) {
      warn(kAnnWireGuardIP, *w, "not a CIDR");
    }
  }
  // Like Kilo's normalizeIP: a CIDR; "" (what agents write without
  // --compatibility=cilium) is absent, silently.
  if (const auto* c = KILO_ANN(kAnnCNICompatibilityIP)) {
    if (auto p = IPPrefix::Parse(*c)) {
      n.cni_compatibility_ip = *p;
    } else if (!c->empty()) {
      warn(kAnnCNICompatibilityIP, *c, "not a CIDR (e.g. 10.0.1.5/32); ignored");
    }
  }
#undef KILO_ANN
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
    // Kilo joins "dns:port" and parses it as an endpoint, so a dotted-quad
    // written in the dns field becomes an IP endpoint.
    if (!obj.endpoint_dns.empty()) {
      auto dns_ip = IPAddr::Parse(obj.endpoint_dns);
      p.endpoint = dns_ip ? Endpoint(*dns_ip, port) : Endpoint::FromDNS(obj.endpoint_dns, port);
    } else {
      p.endpoint = Endpoint(*ip, port);
    }
  }
  if (obj.persistent_keepalive < 0)
    return invalid("spec.persistentKeepalive", std::to_string(obj.persistent_keepalive),
                   "must not be negative");
  if (obj.persistent_keepalive > 65535)
    return invalid("spec.persistentKeepalive", std::to_string(obj.persistent_keepalive),
                   "must be at most 65535");
  p.persistent_keepalive = static_cast<int>(obj.persistent_keepalive);
  auto key = Key::Parse(obj.public_key);
  if (!key)
    return invalid("spec.publicKey", obj.public_key, "not a base64 WireGuard key (32 bytes)");
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
