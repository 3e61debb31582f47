// The DOM decoder of Nodes and Peers (simdjson DOM): the reference that the
// streaming readers (dump_reader.cc, dump_stream.cc) fall back on, and what
// decodes single objects.

#include <cmath>

#include "core/json_internal.h"
#include "core/model.h"

namespace kilo {
namespace json_internal {
namespace {

using simdjson::dom::object;

std::string StringOr(element e, const char* key) {
  std::string_view v;
  if (e[key].get(v)) return {};
  return std::string(v);
}

void StringMap(element e, const char* key, std::map<std::string, std::string>* out,
               bool only_kilo = false) {
  object o;
  if (e[key].get(o)) return;
  for (auto f : o) {
    // Kilo reads only its own annotations (and kg its own too); skipping the
    // others (a real node carries a dozen) saves most of the allocations of a
    // large dump.
    if (only_kilo && !IsKiloAnnotation(f.key)) continue;
    std::string_view v;
    // kubectl sorts keys: hinting at the end makes each insertion O(1).
    if (!f.value.get(v)) {
      out->emplace_hint(out->end(), std::string(f.key), std::string(v));
    } else if (f.value.is_null()) {
      out->emplace_hint(out->end(), std::string(f.key), std::string());
    }
  }
}

// Reads an integer field that may be given as a JSON number; records a type
// error otherwise.
void IntField(element parent, const char* key, const char* path, int64_t* out,
              std::vector<std::string>* errors) {
  element v;
  if (parent[key].get(v) || v.is_null()) return;
  int64_t i;
  if (!v.get(i)) {
    *out = i;
    return;
  }
  double d;
  if (!v.get(d) && std::floor(d) == d && std::fabs(d) < 9e15) {
    *out = static_cast<int64_t>(d);
    return;
  }
  errors->push_back(std::string(path) + " is not an integer");
}

bool IsPeerKind(element item) {
  return StringOr(item, "kind") == "Peer" &&
         StringOr(item, "apiVersion").rfind("kilo.squat.ai/", 0) == 0;
}
}  // namespace

Status DecodeNode(element item, NodeObject* n) {
  element meta;
  if (item["metadata"].get(meta)) return Status::Error("metadata missing");
  n->name = StringOr(meta, "name");
  if (n->name.empty()) return Status::Error("metadata.name missing");
  n->resource_version = StringOr(meta, "resourceVersion");
  n->uid = StringOr(meta, "uid");
  StringMap(meta, "labels", &n->labels);
  StringMap(meta, "annotations", &n->annotations, /*only_kilo=*/true);
  element spec;
  if (!item["spec"].get(spec)) {
    n->pod_cidr = StringOr(spec, "podCIDR");
    simdjson::dom::array cidrs;
    if (!spec["podCIDRs"].get(cidrs)) {
      for (auto c : cidrs) {
        std::string_view v;
        if (!c.get(v)) n->pod_cidrs.emplace_back(v);
      }
    }
  }
  return Status::Ok();
}

Status DecodePeer(element item, PeerObject* p) {
  element meta;
  if (item["metadata"].get(meta)) return Status::Error("metadata missing");
  p->name = StringOr(meta, "name");
  if (p->name.empty()) return Status::Error("metadata.name missing");
  p->resource_version = StringOr(meta, "resourceVersion");
  p->uid = StringOr(meta, "uid");
  element spec;
  if (item["spec"].get(spec)) {
    p->type_errors.push_back("spec missing");
    return Status::Ok();
  }
  if (!spec.is_object()) {
    p->type_errors.push_back("spec is not an object");
    return Status::Ok();
  }
  element aips;
  if (!spec["allowedIPs"].get(aips) && !aips.is_null()) {
    simdjson::dom::array arr;
    if (aips.get(arr)) {
      p->type_errors.push_back("spec.allowedIPs is not a list");
    } else {
      p->has_allowed_ips = true;
      for (auto a : arr) {
        std::string_view s;
        if (a.get(s)) {
          p->type_errors.push_back("spec.allowedIPs has a non-string entry");
          break;
        }
        p->allowed_ips.emplace_back(s);
      }
    }
  }
  auto str = [&](element parent, const char* key, const char* path, std::string* out) {
    element v;
    if (parent[key].get(v) || v.is_null()) return;
    std::string_view s;
    if (v.get(s)) {
      p->type_errors.push_back(std::string(path) + " is not a string");
      return;
    }
    *out = std::string(s);
  };
  str(spec, "publicKey", "spec.publicKey", &p->public_key);
  str(spec, "presharedKey", "spec.presharedKey", &p->preshared_key);
  IntField(spec, "persistentKeepalive", "spec.persistentKeepalive", &p->persistent_keepalive,
           &p->type_errors);
  element ep;
  if (!spec["endpoint"].get(ep) && !ep.is_null()) {
    if (!ep.is_object()) {
      p->type_errors.push_back("spec.endpoint is not an object");
    } else {
      p->has_endpoint = true;
      element d;
      if (!ep["dnsOrIP"].get(d) && d.is_object()) {
        str(d, "dns", "spec.endpoint.dnsOrIP.dns", &p->endpoint_dns);
        str(d, "ip", "spec.endpoint.dnsOrIP.ip", &p->endpoint_ip);
      }
      IntField(ep, "port", "spec.endpoint.port", &p->endpoint_port, &p->type_errors);
    }
  }
  return Status::Ok();
}

// One item of a List: a Node, a Peer or something else (skipped).
Status DecodeItem(element item, size_t index, ClusterObjects* out) {
  std::string kind = StringOr(item, "kind");
  if (kind == "Node") {
    NodeObject n;
    if (auto s = DecodeNode(item, &n); !s.ok())
      return s.Wrap("item " + std::to_string(index) + " (Node)");
    out->nodes.push_back(std::move(n));
  } else if (IsPeerKind(item)) {
    PeerObject p;
    if (auto s = DecodePeer(item, &p); !s.ok())
      return s.Wrap("item " + std::to_string(index) + " (Peer)");
    out->peers.push_back(std::move(p));
  } else {
    ++out->skipped;
  }
  return Status::Ok();
}

Result<ClusterObjects> DecodeClusterObjectsImpl(std::string_view text, bool padded) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return Result<ClusterObjects>::Error("the input is empty");
  std::string converted;
  if (text[first] != '{' && text[first] != '[') {
    auto j = YamlToJson(text);
    if (!j.ok()) return j.status();
    converted = std::move(*j);
    text = converted;
    padded = false;
  }
  simdjson::dom::parser parser;
  element root;
  // Without padding simdjson copies the input into a padded buffer of its own.
  if (auto err = parser.parse(text.data(), text.size(), !padded).get(root)) {
    return Result<ClusterObjects>::Error(std::string("not valid JSON: ") +
                                         simdjson::error_message(err));
  }
  ClusterObjects out;
  auto add = [&](element item, size_t index) { return DecodeItem(item, index, &out); };
  simdjson::dom::array items;
  if (root.is_array() || !root["items"].get(items)) {
    simdjson::dom::array arr = root.is_array() ? root.get_array().value() : items;
    out.nodes.reserve(arr.size());
  }
  if (root.is_array()) {
    items = root.get_array().value();
  } else if (!root.is_object()) {
    return Result<ClusterObjects>::Error("expected a kubectl List object");
  } else if (root["items"].get(items)) {
    if (auto s = add(root, 0); !s.ok()) return s;
    if (out.nodes.empty() && out.peers.empty())
      return Result<ClusterObjects>::Error(
          "expected a kubectl List with an \"items\" array (kubectl get nodes,peers -o json)");
    return out;
  }
  size_t i = 0;
  for (element item : items) {
    if (auto s = add(item, i++); !s.ok()) return s;
  }
  return out;
}

}  // namespace json_internal

using json_internal::DecodeClusterObjectsImpl;
using json_internal::DecodeNode;
using json_internal::DecodePeer;
using json_internal::element;

Result<ClusterObjects> DecodeClusterObjects(std::string_view text) {
  return DecodeClusterObjectsImpl(text, false);
}

Result<ClusterObjects> DecodeClusterObjectsPadded(const std::string& text) {
  return DecodeClusterObjectsImpl(text, text.capacity() - text.size() >= kJsonPadding);
}

Result<NodeObject> DecodeNodeObject(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  element root;
  if (auto err = parser.parse(padded).get(root))
    return Result<NodeObject>::Error(std::string("not valid JSON: ") +
                                     simdjson::error_message(err));
  NodeObject n;
  if (auto s = DecodeNode(root, &n); !s.ok()) return s;
  return n;
}

Result<PeerObject> DecodePeerObject(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  element root;
  if (auto err = parser.parse(padded).get(root))
    return Result<PeerObject>::Error(std::string("not valid JSON: ") +
                                     simdjson::error_message(err));
  PeerObject p;
  if (auto s = DecodePeer(root, &p); !s.ok()) return s;
  return p;
}

}  // namespace kilo
