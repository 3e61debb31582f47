#include "core/objects_json.h"

#include "core/model.h"

#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <cstdio>

namespace kilo {
static_assert(kJsonPadding >= simdjson::SIMDJSON_PADDING);
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

std::string StringOr(element e, const char* key) {
  std::string_view v;
  if (e[key].get(v)) return {};
  return std::string(v);
}

void StringMap(element e, const char* key, std::map<std::string, std::string>* out,
               std::string_view prefix = {}) {
  object o;
  if (e[key].get(o)) return;
  for (auto f : o) {
    // Kilo reads only its own annotations; skipping the others (a real node
    // carries a dozen) saves most of the allocations of a large dump.
    if (!prefix.empty() && f.key.substr(0, prefix.size()) != prefix &&
        !(prefix == kAnnotationPrefix && IsKiloAnnotationKey(f.key)))
      continue;
    std::string_view v;
    // kubectl sorts keys: hinting at the end makes each insertion O(1).
    if (!f.value.get(v)) {
      out->emplace_hint(out->end(), std::string(f.key), std::string(v));
    } else if (f.value.is_null()) {
      out->emplace_hint(out->end(), std::string(f.key), std::string());
    }
  }
}

Status DecodeNode(element item, NodeObject* n) {
  element meta;
  if (item["metadata"].get(meta)) return Status::Error("metadata missing");
  n->name = StringOr(meta, "name");
  if (n->name.empty()) return Status::Error("metadata.name missing");
  n->resource_version = StringOr(meta, "resourceVersion");
  n->uid = StringOr(meta, "uid");
  StringMap(meta, "labels", &n->labels);
  StringMap(meta, "annotations", &n->annotations, kAnnotationPrefix);
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

bool IsPeerKind(element item) {
  return StringOr(item, "kind") == "Peer" &&
         StringOr(item, "apiVersion").rfind("kilo.squat.ai/", 0) == 0;
}

void EmitYaml(const YAML::Node& node, std::string* out);

// Emits a YAML scalar as JSON: plain scalars that look like numbers, booleans
// or null become those JSON types (YAML 1.1 core schema as kubectl reads it).
void EmitScalar(const YAML::Node& node, std::string* out) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") {  // quoted
    AppendJsonString(s, out);
    return;
  }
  if (s == "null" || s == "~" || s.empty()) {
    *out += "null";
    return;
  }
  if (s == "true" || s == "false") {
    *out += s;
    return;
  }
  char* end = nullptr;
  std::strtoll(s.c_str(), &end, 10);
  bool integer = end && *end == '\0' && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-');
  if (integer) {
    *out += s;
    return;
  }
  AppendJsonString(s, out);
}

void EmitYaml(const YAML::Node& node, std::string* out) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      *out += "null";
      return;
    case YAML::NodeType::Scalar:
      EmitScalar(node, out);
      return;
    case YAML::NodeType::Sequence: {
      out->push_back('[');
      bool first = true;
      for (const auto& child : node) {
        if (!first) out->push_back(',');
        first = false;
        EmitYaml(child, out);
      }
      out->push_back(']');
      return;
    }
    case YAML::NodeType::Map: {
      out->push_back('{');
      bool first = true;
      for (const auto& kv : node) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(kv.first.Scalar(), out);
        out->push_back(':');
        EmitYaml(kv.second, out);
      }
      out->push_back('}');
      return;
    }
  }
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out, bool html_safe) {
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
        if (c < 0x20 || (html_safe && (c == '<' || c == '>' || c == '&'))) {
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

Result<std::string> YamlToJson(std::string_view yaml) {
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    std::string out;
    out.reserve(yaml.size());
    EmitYaml(root, &out);
    return out;
  } catch (const YAML::Exception& e) {
    return Result<std::string>::Error(std::string("not valid YAML: ") + e.what());
  }
}

namespace {

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

// `padded`: `text` may be read up to kJsonPadding bytes past its end.
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

}  // namespace

namespace {

namespace od = simdjson::ondemand;

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The index of the first '"' or '\\' from `p` on, 8 bytes at a time. There
// is one before the end of the input (p is in a string that stage 1 found
// closed), and the input is padded: reading up to 7 bytes past it is safe.
size_t QuoteOrBackslash(const char* p) {
  if constexpr (std::endian::native == std::endian::little) {
    constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
    for (size_t i = 0;; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      uint64_t q = w ^ (kOnes * '"'), b = w ^ (kOnes * '\\');
      // The lowest byte flagged is the first zero byte of q or b.
      uint64_t m = (((q - kOnes) & ~q) | ((b - kOnes) & ~b)) & kHigh;
      if (m) return i + static_cast<size_t>(std::countr_zero(m) >> 3);
    }
  } else {
    size_t i = 0;
    while (p[i] != '"' && p[i] != '\\') ++i;
    return i;
  }
}

// `tok` (a token and the whitespace up to the next one) is the literal `lit`.
bool IsLiteral(std::string_view tok, std::string_view lit) {
  if (tok.substr(0, lit.size()) != lit) return false;
  for (char c : tok.substr(lit.size()))
    if (!IsJsonSpace(c)) return false;
  return true;
}

// The text of the object or array that starts at `p`, found by matching
// brackets outside strings; empty when it does not end before `end`.
std::string_view ValueExtent(const char* p, const char* end) {
  int depth = 0;
  for (const char* q = p; q < end;) {
    char c = *q++;
    if (c == '"') {
      while (q < end && *q != '"') q += *q == '\\' ? 2 : 1;
      ++q;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return std::string_view(p, static_cast<size_t>(q - p));
    }
  }
  return {};
}

// Reads a kubectl List with simdjson On-Demand, handing Nodes over as views
// into the input. Every method returns false to give up: the caller then
// decodes the whole input with the DOM decoder, the reference (which also
// produces the exact error messages).
class FastDumpReader {
 public:
  FastDumpReader(std::string_view label, const char* end, ClusterDumpVisitor* v)
      : label_(label), end_(end), v_(v) {}

  // Whether the visitor released input already read (see OnConsumed).
  bool released() const { return released_; }

  // Checks the skeleton of a List whose items ClusterDumpStream decoded:
  // Run() then requires the first "items" value to be the one at `at` (the
  // "[]" put in place of the items) and reads no item.
  void ExpectItemsAt(const char* at) { items_at_ = at; }

  // One batch of items, "[item,item,...]" ending at `end`; `index` counts
  // the items across batches.
  bool Batch(od::document& doc, const char* end, size_t* index) {
    end_ = end;
    od::array items;
    if (doc.get_array().get(items)) return false;
    for (auto r : items) {
      od::value item;
      if (r.get(item) || !Item(item, (*index)++)) return false;
    }
    return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
  }

  bool Run(od::document& doc) {
    std::string_view tok;
    if (doc.raw_json_token().get(tok) || tok.empty()) return false;
    if (tok[0] == '[') {
      if (items_at_) return false;
      od::array items;
      if (doc.get_array().get(items) || !Items(items)) return false;
    } else if (tok[0] == '{') {
      od::object root;
      if (doc.get_object().get(root)) return false;
      bool found = false;
      for (auto fr : root) {
        od::field f;
        std::string_view key;
        if (std::move(fr).get(f) || !Key(f, &key)) return false;
        if (key != "items" || found) continue;
        found = true;
        // Not an array: the input is a single object (DOM decoder).
        std::string_view items_tok = f.value().raw_json_token();
        if (items_tok.substr(0, 1) != "[") return false;
        if (items_at_) {
          if (items_tok.data() != items_at_) return false;
          continue;
        }
        od::array items;
        if (f.value().get_array().get(items) || !Items(items)) return false;
      }
      if (!found) return false;
    } else {
      return false;
    }
    // Anything after the root value is an error (the DOM decoder's).
    return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
  }

 private:
  enum class Type { kString, kNull, kOther };

  // The key of a field (unescaped only when it has escapes).
  static bool Key(od::field& f, std::string_view* out) {
    const char* p = f.key().raw();
    size_t n = QuoteOrBackslash(p);
    if (p[n] == '\\') return !f.unescaped_key().get(*out);
    *out = std::string_view(p, n);
    return true;
  }

  // A value that Kilo reads as a string: its type, and the string (a view
  // into the input unless it has escapes). Containers are kOther, left
  // unread; numbers give up (the DOM decoder validates them).
  static bool Str(od::value& v, Type* type, std::string_view* out) {
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
        *type = Type::kString;
        return true;
      }
      case '{':
      case '[':
        *type = Type::kOther;
        return true;
      default:
        if (IsLiteral(tok, "null")) {
          *type = Type::kNull;
          return true;
        }
        *type = Type::kOther;
        return IsLiteral(tok, "true") || IsLiteral(tok, "false");
    }
  }

  // A string field read as StringOr() does: "" unless a string.
  static bool StrOrEmpty(od::value& v, std::string_view* out) {
    Type t;
    if (!Str(v, &t, out)) return false;
    if (t != Type::kString) *out = {};
    return true;
  }

  // A string map entry read as StringMap() does: strings, and null as "".
  static bool MapValue(od::value& v, std::optional<std::string_view>* out) {
    Type t;
    std::string_view s;
    if (!Str(v, &t, &s)) return false;
    if (t == Type::kString) *out = s;
    if (t == Type::kNull) *out = std::string_view();
    return true;
  }

  // Is `v` an object? Other values are checked as Str() does.
  static bool IsObject(od::value& v, bool* is_object) {
    std::string_view tok = v.raw_json_token();
    *is_object = !tok.empty() && tok[0] == '{';
    if (*is_object) return true;
    Type t;
    std::string_view s;
    return Str(v, &t, &s);
  }

  bool Items(od::array& items) {
    // One pass over the structural index only (cheap); the array is then
    // rewound. Lets the model be allocated once instead of doubling.
    // Malformed (it is then unsafe to go on): the DOM decoder reports it.
    size_t count = 0;
    if (items.count_elements().get(count)) return false;
    v_->OnItemCount(count);
    size_t index = 0;
    for (auto r : items) {
      od::value item;
      if (r.get(item) || !Item(item, index++)) return false;
    }
    return true;
  }

  bool Item(od::value& item, size_t index) {
    std::string_view tok = item.raw_json_token();
    if (tok.empty()) return false;
    released_ |= v_->OnConsumed(tok.data());
    if (tok[0] != '{') {
      // Not an object: no "kind", skipped (strings and arrays unread).
      if (tok[0] != '"' && tok[0] != '[' && !IsLiteral(tok, "null") && !IsLiteral(tok, "true") &&
          !IsLiteral(tok, "false"))
        return false;
      v_->OnSkipped();
      return true;
    }
    const char* start = tok.data();
    od::object obj;
    if (item.get_object().get(obj)) return false;
    // The first "kind" and "apiVersion" decide what the item is (as
    // StringOr() reads them); they precede "metadata" and "spec" in what
    // kubectl writes. When they do not, the item goes to the DOM decoder.
    enum class What { kUndecided, kNode, kPeer, kSkip };
    bool kind_seen = false, api_seen = false, meta_seen = false, spec_seen = false, dom = false;
    std::string_view kind, api;
    auto decide = [&](bool final) {
      if (kind_seen && kind == "Node") return What::kNode;
      if (kind_seen && kind != "Peer") return What::kSkip;
      if (kind_seen && api_seen)
        return api.substr(0, 14) == "kilo.squat.ai/" ? What::kPeer : What::kSkip;
      return final ? What::kSkip : What::kUndecided;
    };
    What what = What::kUndecided;
    NodeFields n;
    for (auto fr : obj) {
      od::field f;
      std::string_view key;
      if (std::move(fr).get(f) || !Key(f, &key)) return false;
      if (dom) continue;
      if (key == "kind" || key == "apiVersion") {
        bool& seen = key == "kind" ? kind_seen : api_seen;
        if (seen) continue;
        seen = true;
        if (!StrOrEmpty(f.value(), key == "kind" ? &kind : &api)) return false;
        continue;
      }
      bool is_meta = key == "metadata";
      if (!is_meta && key != "spec") continue;
      if (what == What::kUndecided) what = decide(false);
      if (what == What::kUndecided || what == What::kPeer) {
        dom = true;
        continue;
      }
      if (what == What::kSkip) continue;
      if (is_meta && !meta_seen) {
        meta_seen = true;
        if (!Metadata(f.value(), &n)) return false;
      } else if (!is_meta && !spec_seen) {
        spec_seen = true;
        if (!Spec(f.value(), &n)) return false;
      }
    }
    if (!dom) {
      if (what == What::kUndecided) what = decide(true);
      if (what == What::kSkip) {
        v_->OnSkipped();
        return true;
      }
      if (what == What::kNode) {
        // Without metadata or a name the DOM decoder gives the error.
        if (!meta_seen || n.name.empty()) return false;
        v_->OnNode(n);
        return true;
      }
    }
    return DomItem(start, index);
  }

  // metadata: name, the topology label, Kilo's annotations (as DecodeNode).
  bool Metadata(od::value& v, NodeFields* n) {
    bool is_object;
    if (!IsObject(v, &is_object) || !is_object) return false;  // no name: an error
    od::object m;
    if (v.get_object().get(m)) return false;
    bool name_seen = false, labels_seen = false, ann_seen = false;
    for (auto fr : m) {
      od::field f;
      std::string_view key;
      if (std::move(fr).get(f) || !Key(f, &key)) return false;
      if (key == "name") {
        if (name_seen) continue;
        name_seen = true;
        if (!StrOrEmpty(f.value(), &n->name)) return false;
      } else if (key == "labels" || key == "annotations") {
        bool labels = key == "labels";
        bool& seen = labels ? labels_seen : ann_seen;
        if (seen) continue;
        seen = true;
        if (!IsObject(f.value(), &is_object)) return false;
        if (!is_object) continue;
        od::object map;
        if (f.value().get_object().get(map)) return false;
        for (auto er : map) {
          od::field e;
          std::string_view k;
          if (std::move(er).get(e) || !Key(e, &k)) return false;
          std::optional<std::string_view>* slot = nullptr;
          if (labels) {
            if (k == label_) slot = &n->topology_label;
          } else if (int i = NodeAnnotationIndex(k); i >= 0) {
            slot = &n->annotations[static_cast<size_t>(i)];
          }
          // The first string (or null) wins, as in a std::map built in order.
          if (slot && !*slot && !MapValue(e.value(), slot)) return false;
        }
      }
    }
    return true;
  }

  // spec: podCIDR, podCIDRs.
  bool Spec(od::value& v, NodeFields* n) {
    bool pod_cidr_seen = false, pod_cidrs_seen = false;
    bool is_object;
    if (!IsObject(v, &is_object)) return false;
    if (!is_object) return true;
    od::object spec;
    if (v.get_object().get(spec)) return false;
    for (auto fr : spec) {
      od::field f;
      std::string_view key;
      if (std::move(fr).get(f) || !Key(f, &key)) return false;
      if (key == "podCIDR" && !pod_cidr_seen) {
        pod_cidr_seen = true;  // the first one counts
        if (!StrOrEmpty(f.value(), &n->pod_cidr)) return false;
      } else if (key == "podCIDRs" && !pod_cidrs_seen) {
        pod_cidrs_seen = true;
        if (!StrArray(f.value(), &n->pod_cidrs)) return false;
      }
    }
    return true;
  }

  // The strings of an array (other elements skipped); a non-array is empty.
  static bool StrArray(od::value v, std::vector<std::string_view>* out) {
    std::string_view tok = v.raw_json_token();
    if (tok.empty() || tok[0] != '[') return true;
    od::array a;
    if (v.get_array().get(a)) return false;
    for (auto er : a) {
      od::value e;
      if (std::move(er).get(e)) return false;
      Type t;
      std::string_view s;
      if (!Str(e, &t, &s)) return false;
      if (t == Type::kString) out->push_back(s);
    }
    return true;
  }

  // An item the DOM decoder reads (Peers, unusual Nodes).
  bool DomItem(const char* start, size_t index) {
    std::string_view raw = ValueExtent(start, end_);
    element e;
    if (raw.empty() || dom_.parse(raw.data(), raw.size(), false).get(e)) return false;
    ClusterObjects objs;
    if (!DecodeItem(e, index, &objs).ok()) return false;
    for (const auto& node : objs.nodes) v_->OnNode(NodeFields::Of(node, std::string(label_)));
    for (auto& p : objs.peers) v_->OnPeer(std::move(p));
    for (int i = 0; i < objs.skipped; ++i) v_->OnSkipped();
    return true;
  }

  std::string_view label_;
  const char* end_;  // end of the input
  ClusterDumpVisitor* v_;
  bool released_ = false;
  const char* items_at_ = nullptr;  // see ExpectItemsAt
  simdjson::dom::parser dom_;
};

Status VisitWithDom(std::string_view text, bool padded, const std::string& topology_label,
                    ClusterDumpVisitor* v) {
  auto objs = DecodeClusterObjectsImpl(text, padded);
  if (!objs.ok()) return objs.status();
  for (const auto& n : objs->nodes) v->OnNode(NodeFields::Of(n, topology_label));
  for (auto& p : objs->peers) v->OnPeer(std::move(p));
  for (int i = 0; i < objs->skipped; ++i) v->OnSkipped();
  return Status::Ok();
}

}  // namespace

// The stream scans the input once for the structure around the items: strings
// (with escapes), nesting depth, the root object's keys. Bytes before the
// first "items" array and after it go to `skel`, with "[]" in place of the
// items; the items stay in `buf` until a batch of them is decoded in place:
// the byte before the batch's first item ('[' or ',') becomes '[' and the
// separator after its last item ']', and simdjson reads that range.
struct ClusterDumpStream::Impl {
  enum class Phase { kPrefix, kItems, kSuffix, kFailed };

  Impl(std::string label, ClusterDumpVisitor* v, size_t batch)
      : label(std::move(label)), v(v), batch(batch == 0 ? 1 : batch) {}

  bool Fail() {
    phase = Phase::kFailed;
    return false;
  }

  char* Reserve(size_t n) {
    size_t keep = phase == Phase::kItems ? batch_start - 1 : scan;
    if (cap - size < n + kJsonPadding && keep > 0) {
      std::memmove(buf.get(), buf.get() + keep, size - keep);
      size -= keep;
      scan -= keep;
      if (phase == Phase::kItems) {
        batch_start -= keep;
        items_end -= keep;
        if (item_started) item_start -= keep;
      }
    }
    if (cap - size < n + kJsonPadding) {
      size_t want = std::max(cap * 2, size + n + kJsonPadding);
      std::unique_ptr<char[]> grown(new char[want]);
      if (size) std::memcpy(grown.get(), buf.get(), size);
      buf = std::move(grown);
      cap = want;
    }
    return buf.get() + size;
  }

  bool Commit(size_t n) {
    if (phase == Phase::kFailed) return false;
    size += n;
    return Scan();
  }

  // Structure of the bytes from `scan` to `size`.
  bool Scan() {
    while (scan < size) {
      if (phase == Phase::kSuffix) {
        skel.append(buf.get() + scan, size - scan);
        scan = size;
        return true;
      }
      size_t p = scan++;
      char c = buf[p];
      if (phase == Phase::kPrefix) skel.push_back(c);
      if (in_str) {
        if (esc) {
          esc = false;
        } else if (c == '\\') {
          esc = true;
          key_escaped = true;
        } else if (c == '"') {
          in_str = false;
          if (in_key) {
            in_key = false;
            last_key_items = !key_escaped && key == "items";
          }
        } else if (in_key && key.size() < 6) {
          key.push_back(c);
        }
        continue;
      }
      if (IsJsonSpace(c)) continue;
      if (phase == Phase::kPrefix) {
        if (!Prefix(c, p)) return Fail();
      } else if (!Items(c, p)) {
        return Fail();
      }
    }
    return true;
  }

  // Before the items: finds the root object's first "items" key.
  bool Prefix(char c, size_t p) {
    if (await_items) {
      // The value of the first "items": an array, or the DOM decoder's case.
      if (c != '[') return false;
      skel.push_back(']');  // the '[' is in already
      placeholder = skel.size() - 2;
      phase = Phase::kItems;
      depth = 2;
      batch_start = items_end = p + 1;
      after_comma = false;
      return true;
    }
    switch (c) {
      case '"':
        in_str = true;
        if (depth == 1 && expect_key) {
          in_key = true;
          key.clear();
          key_escaped = false;
          expect_key = false;
        }
        return true;
      case ':':
        if (depth == 1 && last_key_items) await_items = true;
        return true;
      case '{':
      case '[':
        if (depth == 0 && c != '{') return false;  // a root array: VisitClusterDump's case
        expect_key = depth == 0;
        ++depth;
        return true;
      case '}':
      case ']':
        // The root closed without "items": VisitClusterDump's case.
        return --depth > 0;
      case ',':
        if (depth == 1) expect_key = true;
        return true;
      default:
        return depth > 0;
    }
  }

  // Inside the items array (depth 2 is between its items).
  bool Items(char c, size_t p) {
    bool open = c == '{' || c == '[';
    if (depth == 2 && !item_started && c != ',' && c != ']') {
      item_started = true;
      item_start = p;
      after_comma = false;
    }
    if (c == '"') {
      in_str = true;
      return true;
    }
    if (open) {
      ++depth;
      return true;
    }
    if (c == '}' || c == ']') {
      if (--depth > 1) return true;
      // The end of the items array.
      if (c != ']' || after_comma) return false;
      if (item_started) EndItem(p);
      if (!Flush()) return false;
      phase = Phase::kSuffix;
      depth = 1;
      return true;
    }
    if (c == ',' && depth == 2) {
      if (!item_started) return false;
      EndItem(p);
      after_comma = true;
      if (items_end - batch_start >= batch) return Flush();
    }
    return true;
  }

  void EndItem(size_t p) {
    items_end = p;
    item_started = false;
    ++pending;
  }

  // Decodes the items between batch_start and items_end, if any.
  bool Flush() {
    if (pending == 0) return true;
    char* first = buf.get() + batch_start - 1;
    char* last = buf.get() + items_end;
    char saved = *last;
    *first = '[';
    *last = ']';
    size_t len = static_cast<size_t>(last - first) + 1;
    bool ok;
    {
      od::document doc;
      FastDumpReader reader(label, last + 1, v);
      // `buf` always has kJsonPadding bytes of room after `size`.
      ok = !parser.iterate(first, len, cap - static_cast<size_t>(first - buf.get())).get(doc) &&
           reader.Batch(doc, last + 1, &index);
    }
    *last = saved;
    batch_start = items_end + 1;
    pending = 0;
    return ok;
  }

  bool Finish() {
    if (phase != Phase::kSuffix || !Scan()) return Fail();
    // The List around the items, as VisitClusterDump's fast decoder checks
    // it (its first "items" must be the placeholder, nothing may follow).
    size_t n = skel.size();
    skel.append(kJsonPadding, ' ');
    od::document doc;
    FastDumpReader reader(label, skel.data() + n, v);
    reader.ExpectItemsAt(skel.data() + placeholder);
    bool ok = !parser.iterate(skel.data(), n, skel.size()).get(doc) && reader.Run(doc);
    return ok || Fail();
  }

  std::string label;
  ClusterDumpVisitor* v;
  size_t batch;
  Phase phase = Phase::kPrefix;
  std::unique_ptr<char[]> buf;
  size_t cap = 0, size = 0, scan = 0;
  std::string skel;
  size_t placeholder = 0;
  bool in_str = false, esc = false;
  int depth = 0;
  // The root object's keys (before the items).
  bool expect_key = false, in_key = false, key_escaped = false, last_key_items = false;
  bool await_items = false;
  std::string key;
  // The items.
  bool item_started = false, after_comma = false;
  size_t item_start = 0, batch_start = 0, items_end = 0, pending = 0, index = 0;
  od::parser parser;
};

ClusterDumpStream::ClusterDumpStream(std::string topology_label, ClusterDumpVisitor* visitor,
                                     size_t batch_bytes)
    : impl_(std::make_unique<Impl>(std::move(topology_label), visitor, batch_bytes)) {}
ClusterDumpStream::~ClusterDumpStream() = default;
char* ClusterDumpStream::Reserve(size_t n) { return impl_->Reserve(n); }
bool ClusterDumpStream::Commit(size_t n) { return impl_->Commit(n); }
bool ClusterDumpStream::Finish() { return impl_->Finish(); }
size_t ClusterDumpStream::BufferCapacity() const { return impl_->cap; }

Status VisitClusterDump(std::string_view text, bool padded, const std::string& topology_label,
                        ClusterDumpVisitor* visitor) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || (text[first] != '{' && text[first] != '['))
    return VisitWithDom(text, padded, topology_label, visitor);  // YAML, or empty
  simdjson::padded_string copy;
  if (!padded) {
    copy = simdjson::padded_string(text);
    text = std::string_view(copy.data(), copy.size());
  }
  bool ok, released;
  {
    od::parser parser;
    od::document doc;
    FastDumpReader reader(topology_label, text.data() + text.size(), visitor);
    ok = !parser.iterate(text.data(), text.size(), text.size() + kJsonPadding).get(doc) &&
         reader.Run(doc);
    released = reader.released();
  }
  if (ok) return Status::Ok();
  visitor->Restart();
  if (released) {
    auto again = visitor->Refill();
    if (!again) return Status::Error("the input could not be read again");
    text = *again;
  }
  return VisitWithDom(text, true, topology_label, visitor);
}

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
    return Result<NodeObject>::Error(std::string("not valid JSON: ") + simdjson::error_message(err));
  NodeObject n;
  if (auto s = DecodeNode(root, &n); !s.ok()) return s;
  return n;
}

Result<PeerObject> DecodePeerObject(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  element root;
  if (auto err = parser.parse(padded).get(root))
    return Result<PeerObject>::Error(std::string("not valid JSON: ") + simdjson::error_message(err));
  PeerObject p;
  if (auto s = DecodePeer(root, &p); !s.ok()) return s;
  return p;
}

}  // namespace kilo
