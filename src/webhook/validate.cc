#include "webhook/validate.h"

#include <cmath>
#include <cstdint>
#include <optional>

#include "core/endpoint.h"
#include "core/ip.h"
#include "core/key.h"
#include "core/objects_json.h"
#include "core/translate.h"

namespace kilo::webhook {
namespace {

using json = nlohmann::json;

constexpr std::string_view kPeerGroup = "kilo.squat.ai";
constexpr std::string_view kPeerVersion = "v1alpha1";
constexpr size_t kMaxQuoted = 96;

// Quotes a user-supplied value for a message: JSON string syntax (so control
// characters and quotes are escaped), truncated. nlohmann validates UTF-8 on
// parse, but truncation may split a sequence: `replace` keeps dump() from
// throwing.
std::string Quote(std::string_view s) {
  bool cut = s.size() > kMaxQuoted;
  std::string q = json(std::string(s.substr(0, kMaxQuoted)))
                      .dump(-1, ' ', false, json::error_handler_t::replace);
  if (cut) q.insert(q.size() - 1, "...");
  return q;
}

std::string TypeName(const json& v) { return v.type_name(); }

// Returns a pointer to obj[key] when obj is an object holding key with a
// non-null value, else nullptr (absent and null mean "not set", as in Go).
const json* Field(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string StringOr(const json& obj, std::string_view key) {
  const json* v = Field(obj, key);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

// An integer as the Kubernetes JSON decoder accepts it: a JSON number without
// a fraction. nullopt otherwise.
std::optional<int64_t> Integer(const json& v) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return std::nullopt;
    return v.get<int64_t>();
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9e15)
      return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

void CheckAllowedIPs(const json& spec, std::vector<std::string>* problems) {
  const json* aips = Field(spec, "allowedIPs");
  if (!aips) {
    problems->push_back("spec.allowedIPs is required: at least one CIDR");
    return;
  }
  if (!aips->is_array()) {
    problems->push_back("spec.allowedIPs must be a list of CIDRs, got " + TypeName(*aips));
    return;
  }
  if (aips->empty()) {
    problems->push_back("spec.allowedIPs must have at least one CIDR");
    return;
  }
  for (size_t i = 0; i < aips->size(); ++i) {
    const json& a = (*aips)[i];
    std::string path = "spec.allowedIPs[" + std::to_string(i) + "]";
    if (!a.is_string()) {
      problems->push_back(path + " must be a string, got " + TypeName(a));
      continue;
    }
    const auto& s = a.get_ref<const std::string&>();
    if (!IPPrefix::Parse(s)) problems->push_back(path + " " + Quote(s) + " is not a valid CIDR");
  }
}

void CheckPublicKey(const json& spec, std::vector<std::string>* problems) {
  const json* k = Field(spec, "publicKey");
  if (!k || (k->is_string() && k->get_ref<const std::string&>().empty())) {
    problems->push_back("spec.publicKey is required");
    return;
  }
  if (!k->is_string()) {
    problems->push_back("spec.publicKey must be a string, got " + TypeName(*k));
    return;
  }
  const auto& s = k->get_ref<const std::string&>();
  auto key = Key::Parse(s);
  if (!key) {
    problems->push_back("spec.publicKey " + Quote(s) +
                        " is not a valid WireGuard key (base64 of 32 bytes)");
  } else if (key->IsZero()) {
    // Parses, but the agents treat a zero key as "not ready" and ignore the Peer.
    problems->push_back("spec.publicKey is the all-zero key");
  }
}

void CheckPresharedKey(const json& spec, std::vector<std::string>* problems) {
  const json* k = Field(spec, "presharedKey");
  if (!k) return;
  if (!k->is_string()) {
    problems->push_back("spec.presharedKey must be a string, got " + TypeName(*k));
    return;
  }
  const auto& s = k->get_ref<const std::string&>();
  // Never echo key material, even a malformed one (it ends up in API server
  // logs and events).
  if (!s.empty() && !Key::Parse(s))
    problems->push_back("spec.presharedKey is not a valid WireGuard key (base64 of 32 bytes)");
}

void CheckEndpoint(const json& spec, std::vector<std::string>* problems) {
  const json* ep = Field(spec, "endpoint");
  if (!ep) return;
  if (!ep->is_object()) {
    problems->push_back("spec.endpoint must be an object, got " + TypeName(*ep));
    return;
  }
  std::string dns, ip;
  bool have_host = false;
  if (const json* d = Field(*ep, "dnsOrIP")) {
    if (!d->is_object()) {
      problems->push_back("spec.endpoint.dnsOrIP must be an object, got " + TypeName(*d));
      have_host = true;  // reported already; don't add "needs ip or dns" on top
    } else {
      for (const char* key : {"dns", "ip"}) {
        const json* v = Field(*d, key);
        if (!v) continue;
        std::string path = std::string("spec.endpoint.dnsOrIP.") + key;
        if (!v->is_string()) {
          problems->push_back(path + " must be a string, got " + TypeName(*v));
          have_host = true;
          continue;
        }
        (key[0] == 'd' ? dns : ip) = v->get<std::string>();
      }
    }
  }
  if (!dns.empty()) {
    have_host = true;
    if (!IsDNS1123Subdomain(dns))
      problems->push_back("spec.endpoint.dnsOrIP.dns " + Quote(dns) +
                          " is not a valid RFC 1123 DNS name");
  }
  if (!ip.empty()) {
    have_host = true;
    if (!IPAddr::Parse(ip))
      problems->push_back("spec.endpoint.dnsOrIP.ip " + Quote(ip) + " is not a valid IP address");
  }
  if (!have_host)
    problems->push_back("spec.endpoint needs dnsOrIP.ip or dnsOrIP.dns (neither is set)");

  const json* port = Field(*ep, "port");
  if (!port) {
    problems->push_back("spec.endpoint.port is required (1-65535)");
    return;
  }
  auto p = Integer(*port);
  if (!p) {
    problems->push_back("spec.endpoint.port must be an integer, got " +
                        (port->is_string() ? Quote(port->get<std::string>()) : TypeName(*port)));
  } else if (*p < 1 || *p > 65535) {
    problems->push_back("spec.endpoint.port " + std::to_string(*p) + " is out of range 1-65535");
  }
}

void CheckKeepalive(const json& spec, std::vector<std::string>* problems) {
  const json* k = Field(spec, "persistentKeepalive");
  if (!k) return;
  auto v = Integer(*k);
  if (!v) {
    problems->push_back("spec.persistentKeepalive must be an integer number of seconds, got " +
                        TypeName(*k));
  } else if (*v < 0) {
    problems->push_back("spec.persistentKeepalive " + std::to_string(*v) + " must not be negative");
  } else if (*v > 65535) {
    // WireGuard's keepalive is 16 bits; the agents ignore such a Peer.
    problems->push_back("spec.persistentKeepalive " + std::to_string(*v) +
                        " must be at most 65535");
  }
}

// True when the request is about kilo.squat.ai/v1alpha1 Peers, judged by
// request.kind (GroupVersionKind) or, failing that, request.resource.
bool IsPeerRequest(const json& req) {
  if (const json* k = Field(req, "kind"); k && k->is_object()) {
    return StringOr(*k, "group") == kPeerGroup && StringOr(*k, "version") == kPeerVersion &&
           StringOr(*k, "kind") == "Peer";
  }
  if (const json* r = Field(req, "resource"); r && r->is_object()) {
    return StringOr(*r, "group") == kPeerGroup && StringOr(*r, "version") == kPeerVersion &&
           StringOr(*r, "resource") == "peers";
  }
  return false;
}

Result<AdmissionDecision> Fail(std::string msg) {
  return Result<AdmissionDecision>::Error(std::move(msg));
}

}  // namespace

std::vector<std::string> ValidatePeer(const json& peer) {
  std::vector<std::string> problems;
  if (!peer.is_object()) {
    problems.push_back("the Peer must be a JSON object, got " + TypeName(peer));
    return problems;
  }
  const json* spec = Field(peer, "spec");
  static const json kEmpty = json::object();
  if (spec && !spec->is_object()) {
    problems.push_back("spec must be an object, got " + TypeName(*spec));
    return problems;
  }
  const json& s = spec ? *spec : kEmpty;
  CheckPublicKey(s, &problems);
  CheckPresharedKey(s, &problems);
  CheckAllowedIPs(s, &problems);
  CheckEndpoint(s, &problems);
  CheckKeepalive(s, &problems);
  if (!problems.empty()) return problems;

  // Safety net: the agents read Peers with core's decoder and TranslatePeer.
  // A Peer admitted here must be one they use, so if they would still reject
  // it (a rule added to core but not here), deny with their reason.
  auto obj = DecodePeerObject(peer.dump(-1, ' ', false, json::error_handler_t::replace));
  if (obj.ok()) {
    std::vector<Warning> warnings;
    if (!TranslatePeer(*obj, &warnings)) {
      for (const auto& w : warnings) problems.push_back(w.field + ": " + w.reason);
      if (problems.empty()) problems.push_back("the Peer is rejected by the agent's validation");
    }
  }
  return problems;
}

Result<AdmissionDecision> Validate(const json& review) {
  try {
    if (!review.is_object())
      return Fail("the body must be a JSON AdmissionReview object, got " + TypeName(review));
    std::string api_version = StringOr(review, "apiVersion");
    if (api_version != kAdmissionV1 && api_version != kAdmissionV1beta1)
      return Fail("not an AdmissionReview: apiVersion " + Quote(api_version) + ", want " +
                  std::string(kAdmissionV1));
    if (StringOr(review, "kind") != "AdmissionReview")
      return Fail("not an AdmissionReview: kind " + Quote(StringOr(review, "kind")) +
                  ", want \"AdmissionReview\"");
    const json* req = Field(review, "request");
    if (!req || !req->is_object()) return Fail("AdmissionReview without a request object");
    std::string uid = StringOr(*req, "uid");
    if (uid.empty()) return Fail("AdmissionReview request without a uid");

    AdmissionDecision d;
    d.api_version = api_version;
    d.uid = uid;
    if (!IsPeerRequest(*req)) return d;  // not ours to judge (misconfigured rules)
    std::string op = StringOr(*req, "operation");
    if (op.empty()) return Fail("AdmissionReview request without an operation");
    if (op != "CREATE" && op != "UPDATE") return d;  // DELETE, CONNECT
    const json* obj = Field(*req, "object");
    if (!obj || !obj->is_object())
      return Fail("AdmissionReview " + op + " request without an object");

    d.problems = ValidatePeer(*obj);
    if (!d.problems.empty()) {
      d.allowed = false;
      std::string name;
      if (const json* meta = Field(*obj, "metadata")) name = StringOr(*meta, "name");
      d.message = name.empty() ? "Peer is invalid: " : "Peer " + Quote(name) + " is invalid: ";
      for (size_t i = 0; i < d.problems.size(); ++i) {
        if (i) d.message += "; ";
        d.message += d.problems[i];
      }
    }
    return d;
  } catch (const std::exception& e) {
    // Not expected (every access is type-checked); a hostile body must still
    // never take the server down.
    return Fail(std::string("invalid AdmissionReview: ") + e.what());
  }
}

json AdmissionResponse(const AdmissionDecision& d) {
  json resp = {{"uid", d.uid}, {"allowed", d.allowed}};
  if (!d.allowed) {
    resp["status"] = {{"metadata", json::object()},
                      {"status", "Failure"},
                      {"code", 403},
                      {"reason", "Forbidden"},
                      {"message", d.message}};
  }
  return {{"apiVersion", d.api_version}, {"kind", "AdmissionReview"}, {"response", resp}};
}

namespace {

HttpReply Text(int status, std::string body) {
  HttpReply r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  if (r.body.empty() || r.body.back() != '\n') r.body += '\n';
  return r;
}

// The media type of a Content-Type header, lower-cased, without parameters.
std::string MediaType(std::string_view ct) {
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && (ct.front() == ' ' || ct.front() == '\t')) ct.remove_prefix(1);
  while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t')) ct.remove_suffix(1);
  std::string out(ct);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

HttpReply HandleRequest(std::string_view method, std::string_view path,
                        std::string_view content_type, std::string_view body) {
  try {
    if (path == "/healthz") {
      if (method != "GET" && method != "HEAD") {
        HttpReply r = Text(405, "method not allowed; use GET");
        r.headers.emplace_back("Allow", "GET, HEAD");
        return r;
      }
      return Text(200, "ok");
    }
    if (path != "/validate" && path != "/") return Text(404, "not found; POST to /validate");
    if (method != "POST") {
      HttpReply r = Text(405, "method not allowed; POST an AdmissionReview");
      r.headers.emplace_back("Allow", "POST");
      return r;
    }
    if (MediaType(content_type) != "application/json")
      return Text(
          415, "unsupported Content-Type " + Quote(content_type) + "; expected application/json");
    if (body.size() > kMaxBodyBytes)
      return Text(413, "request body larger than " + std::to_string(kMaxBodyBytes) + " bytes");
    json review;
    try {
      review = json::parse(body);
    } catch (const json::exception& e) {
      // parse_error, and out_of_range for numbers that do not fit (1e99999):
      // both are the client's malformed body, not our failure.
      return Text(400, std::string("request body is not valid JSON: ") + e.what());
    }
    auto d = Validate(review);
    if (!d.ok()) return Text(400, d.error());
    HttpReply r;
    r.body = AdmissionResponse(*d).dump(-1, ' ', false, json::error_handler_t::replace);
    return r;
  } catch (const std::exception& e) {
    return Text(500, std::string("internal error: ") + e.what());
  }
}

}  // namespace kilo::webhook
