// DecodeClusterObjects: a whole kubectl List (or one object) in JSON or YAML,
// the reference that the streaming readers (dump_reader.cc, dump_stream.cc)
// fall back on. The objects are read by the one decoder of object_decode.h;
// simdjson's DOM parser only validates the whole document first, which
// On-Demand does not (it checks only what it reads), so that any syntax
// error is reported as "not valid JSON: ...".

#include "core/object_decode.h"

namespace kilo {
namespace json_internal {
namespace {

// The first "kind" and "apiVersion" of an item ("" unless strings).
bool KindOf(od::object& obj, std::string_view* kind, std::string_view* api) {
  static constexpr std::array<std::string_view, 2> kKeys = {"kind", "apiVersion"};
  return FirstFields(obj, kKeys,
                     [&](size_t i, od::value& v) { return StrOrEmpty(v, i == 0 ? kind : api); });
}

// One item of a List: a Node, a Peer (by kind and apiVersion) or something
// else (counted in skipped). Errors are prefixed "item INDEX (KIND)".
Status DecodeItem(od::object& obj, size_t index, ClusterObjects* out) {
  auto broken = [] { return Status::Error("not valid JSON"); };
  std::string_view kind_view, api_view;
  if (!KindOf(obj, &kind_view, &api_view) || obj.reset().error()) return broken();
  std::string kind(kind_view);
  bool peer = kind == "Peer" && api_view.substr(0, 14) == "kilo.squat.ai/";
  std::string why;
  if (kind == "Node") {
    NodeObject n;
    if (!DecodeNode(obj, &n, &why)) return broken();
    if (why.empty()) out->nodes.push_back(std::move(n));
  } else if (peer) {
    PeerObject p;
    if (!DecodePeer(obj, &p, &why)) return broken();
    if (why.empty()) out->peers.push_back(std::move(p));
  } else {
    ++out->skipped;
  }
  if (why.empty()) return Status::Ok();
  return Status::Error(why).Wrap("item " + std::to_string(index) + " (" + kind + ")");
}

// The items of a List (or of a root array); non-objects are skipped.
Status DecodeItems(od::array items, ClusterObjects* out) {
  size_t i = 0;
  for (auto r : items) {
    od::value item;
    if (std::move(r).get(item)) return Status::Error("not valid JSON");
    std::string_view tok = item.raw_json_token();
    if (tok.empty()) return Status::Error("not valid JSON");
    if (tok[0] != '{') {
      ++out->skipped;
      ++i;
      continue;
    }
    od::object obj;
    if (item.get_object().get(obj)) return Status::Error("not valid JSON");
    if (auto s = DecodeItem(obj, i++, out); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

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
  simdjson::padded_string copy;
  if (!padded) {
    copy = simdjson::padded_string(text);
    text = std::string_view(copy.data(), copy.size());
  }
  {
    // The validation: a syntax error anywhere is the input's error.
    simdjson::dom::parser dom;
    if (auto err = dom.parse(text.data(), text.size(), false).error())
      return Result<ClusterObjects>::Error(std::string("not valid JSON: ") +
                                           simdjson::error_message(err));
  }
  od::parser parser;
  od::document doc;
  std::string_view tok;
  if (parser.iterate(text.data(), text.size(), text.size() + kJsonPadding).get(doc) ||
      doc.raw_json_token().get(tok) || tok.empty())
    return Result<ClusterObjects>::Error("not valid JSON");
  ClusterObjects out;
  if (tok[0] == '[') {
    od::array items;
    if (doc.get_array().get(items)) return Result<ClusterObjects>::Error("not valid JSON");
    if (auto s = DecodeItems(items, &out); !s.ok()) return s;
    return out;
  }
  od::object root;
  if (tok[0] != '{' || doc.get_object().get(root))
    return Result<ClusterObjects>::Error("expected a kubectl List object");
  // The first "items", when it is an array; otherwise the root is one object.
  for (auto fr : root) {
    od::field f;
    std::string_view key;
    if (std::move(fr).get(f) || !Key(f, &key))
      return Result<ClusterObjects>::Error("not valid JSON");
    if (key != "items") continue;
    std::string_view items_tok = f.value().raw_json_token();
    if (items_tok.empty() || items_tok[0] != '[') break;
    od::array items;
    if (f.value().get_array().get(items)) return Result<ClusterObjects>::Error("not valid JSON");
    if (auto s = DecodeItems(items, &out); !s.ok()) return s;
    return out;
  }
  if (root.reset().error()) return Result<ClusterObjects>::Error("not valid JSON");
  if (auto s = DecodeItem(root, 0, &out); !s.ok()) return s;
  if (out.nodes.empty() && out.peers.empty())
    return Result<ClusterObjects>::Error(
        "expected a kubectl List with an \"items\" array (kubectl get nodes,peers -o json)");
  return out;
}

}  // namespace json_internal

using json_internal::DecodeClusterObjectsImpl;
namespace od = simdjson::ondemand;

Result<ClusterObjects> DecodeClusterObjects(std::string_view text) {
  return DecodeClusterObjectsImpl(text, false);
}

Result<ClusterObjects> DecodeClusterObjectsPadded(const std::string& text) {
  return DecodeClusterObjectsImpl(text, text.capacity() - text.size() >= kJsonPadding);
}

namespace {

// One object given as JSON text, decoded by `decode`.
template <class T, class Decode>
Result<T> DecodeOne(std::string_view json, Decode decode) {
  simdjson::padded_string padded(json);
  {
    simdjson::dom::parser dom;
    if (auto err = dom.parse(padded).error())
      return Result<T>::Error(std::string("not valid JSON: ") + simdjson::error_message(err));
  }
  od::parser parser;
  od::document doc;
  std::string_view tok;
  if (parser.iterate(padded).get(doc) || doc.raw_json_token().get(tok) || tok.empty())
    return Result<T>::Error("not valid JSON");
  if (tok[0] != '{') return Result<T>::Error("metadata missing");
  od::object o;
  if (doc.get_object().get(o)) return Result<T>::Error("not valid JSON");
  T obj;
  std::string why;
  if (!decode(o, &obj, &why)) return Result<T>::Error("not valid JSON");
  if (!why.empty()) return Result<T>::Error(why);
  return obj;
}

}  // namespace

Result<NodeObject> DecodeNodeObject(std::string_view json) {
  return DecodeOne<NodeObject>(json, [](od::object& o, NodeObject* n, std::string* why) {
    return json_internal::DecodeNode(o, n, why);
  });
}

Result<PeerObject> DecodePeerObject(std::string_view json) {
  return DecodeOne<PeerObject>(json, [](od::object& o, PeerObject* p, std::string* why) {
    return json_internal::DecodePeer(o, p, why);
  });
}

}  // namespace kilo
