#include "core/api_json.h"

#include <cmath>
#include <cstdint>

#include "core/object_decode.h"

namespace kilo {
namespace {

namespace od = simdjson::ondemand;
using json_internal::StrOrEmpty;

Result<ListPage> NotValid(simdjson::error_code err) {
  return Result<ListPage>::Error(std::string("not valid JSON: ") + simdjson::error_message(err));
}

// Decodes one item as `kind` into `page`; records why it could not. False
// when the JSON is broken.
bool DecodeInto(od::value item, size_t index, ObjectKind kind, ListPage* page) {
  std::string why;
  if (kind == ObjectKind::kNode) {
    NodeObject n;
    if (!json_internal::DecodeNode(item, &n, &why)) return false;
    if (why.empty()) page->nodes.push_back(std::move(n));
  } else {
    PeerObject p;
    if (!json_internal::DecodePeer(item, &p, &why)) return false;
    if (why.empty()) page->peers.push_back(std::move(p));
  }
  if (!why.empty()) page->skipped.push_back("item " + std::to_string(index) + ": " + why);
  return true;
}

// The root object's fields: the first "items" and "metadata".
bool DecodeRoot(od::object& root, ObjectKind kind, ListPage* page) {
  static constexpr std::array<std::string_view, 2> kKeys = {"items", "metadata"};
  static constexpr std::array<std::string_view, 2> kMetaKeys = {"continue", "resourceVersion"};
  return json_internal::FirstFields(root, kKeys, [&](size_t key, od::value& f) {
    std::string_view tok = f.raw_json_token();
    if (tok.empty()) return false;
    if (key == 0) {
      if (tok[0] != '[') return true;  // not an array: no items
      od::array items;
      if (f.get_array().get(items)) return false;
      size_t i = 0;
      for (auto r : items) {
        od::value item;
        if (std::move(r).get(item) || !DecodeInto(item, i++, kind, page)) return false;
      }
      return true;
    }
    bool is_object;
    if (!json_internal::IsObject(f, &is_object)) return false;
    od::object md;
    if (!is_object) return true;
    if (f.get_object().get(md)) return false;
    return json_internal::FirstFields(md, kMetaKeys, [&](size_t i, od::value& m) {
      std::string_view v;
      if (!StrOrEmpty(m, &v)) return false;
      (i == 0 ? page->continue_token : page->resource_version) = v;
      return true;
    });
  });
}

Result<ListPage> DecodePage(std::string_view json, ObjectKind kind, bool padded) {
  simdjson::padded_string copy;
  if (!padded) {
    copy = simdjson::padded_string(json);
    json = std::string_view(copy.data(), copy.size());
  }
  od::parser parser;
  od::document doc;
  if (auto err = parser.iterate(json.data(), json.size(), json.size() + kJsonPadding).get(doc))
    return NotValid(err);
  std::string_view tok;
  if (auto err = doc.raw_json_token().get(tok)) return NotValid(err);
  if (tok.empty() || tok[0] != '{') return Result<ListPage>::Error("not a JSON object");
  od::object root;
  ListPage page;
  if (auto err = doc.get_object().get(root)) return NotValid(err);
  if (!DecodeRoot(root, kind, &page)) return NotValid(simdjson::TAPE_ERROR);
  // Anything after the root object is an error.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS)
    return NotValid(simdjson::TRAILING_CONTENT);
  return page;
}

// An ERROR event's metav1.Status: code and message.
bool DecodeStatus(od::object& obj, ApiWatchEvent* out) {
  static constexpr std::array<std::string_view, 2> kKeys = {"code", "message"};
  out->message = "no message";
  return json_internal::FirstFields(obj, kKeys, [&](size_t key, od::value& f) {
    if (key == 0) {
      // metav1.Status.code is an int32; anything else is no code.
      std::string_view tok = f.raw_json_token();
      if (tok.empty()) return false;
      if (tok[0] != '-' && (tok[0] < '0' || tok[0] > '9')) return true;
      double v;
      if (f.get_double().get(v)) return false;
      if (v >= INT32_MIN && v <= INT32_MAX) out->code = static_cast<int>(v);
      return true;
    }
    json_internal::JsonType t;
    std::string_view m;
    if (!json_internal::Str(f, &t, &m)) return false;
    if (t == json_internal::JsonType::kString) out->message = m;
    return true;
  });
}

// The event's object (at `obj`), given its type.
bool DecodeEventObject(od::object& obj, ObjectKind kind, ApiWatchEvent* out) {
  if (out->type == "ADDED" || out->type == "MODIFIED") {
    std::string why;
    if (kind == ObjectKind::kNode) {
      NodeObject n;
      if (!json_internal::DecodeNode(obj, &n, &why)) return false;
      out->name = n.name;
      out->resource_version = n.resource_version;
      if (why.empty()) out->node = std::move(n);
    } else {
      PeerObject p;
      if (!json_internal::DecodePeer(obj, &p, &why)) return false;
      out->name = p.name;
      out->resource_version = p.resource_version;
      if (why.empty()) out->peer = std::move(p);
    }
    out->error = why;
    return true;
  }
  bool md_seen = false;
  for (auto fr : obj) {
    od::field f;
    std::string_view key;
    if (std::move(fr).get(f) || !json_internal::Key(f, &key)) return false;
    if (key != "metadata" || md_seen) continue;
    md_seen = true;
    std::string_view name, rv, uid;
    if (!json_internal::ObjectMetaStrings(f.value(), &name, &rv, &uid)) return false;
    out->name = name;
    out->resource_version = rv;
  }
  if (out->type != "ERROR") return true;
  return obj.reset().error() == simdjson::SUCCESS && DecodeStatus(obj, out);
}

}  // namespace

Result<ListPage> DecodeListPage(std::string_view json, ObjectKind kind) {
  return DecodePage(json, kind, false);
}

Result<ListPage> DecodeListPagePadded(const std::string& json, ObjectKind kind) {
  return DecodePage(json, kind, json.capacity() - json.size() >= kJsonPadding);
}

std::optional<ApiWatchEvent> DecodeWatchEvent(std::string_view frame, ObjectKind kind) {
  simdjson::padded_string padded(frame);
  {
    // On-Demand checks only what it reads, and a Node reads other fields than
    // a Peer: a frame (small) is validated whole first, so that whether it is
    // an event does not depend on the kind asked for (fuzz_watch_stream).
    simdjson::dom::parser dom;
    if (dom.parse(padded).error()) return std::nullopt;
  }
  od::parser parser;
  od::document doc;
  od::object ev;
  std::string_view tok;
  if (parser.iterate(padded).get(doc) || doc.raw_json_token().get(tok) || tok.empty() ||
      tok[0] != '{' || doc.get_object().get(ev))
    return std::nullopt;
  ApiWatchEvent out;
  // The type decides how the object is read: find it first (the API server
  // writes it first; the object is then not read twice).
  bool object_seen = false;
  for (auto fr : ev) {
    od::field f;
    std::string_view key;
    if (std::move(fr).get(f) || !json_internal::Key(f, &key)) return std::nullopt;
    if (key != "type") continue;
    std::string_view t;
    if (!StrOrEmpty(f.value(), &t)) return std::nullopt;
    out.type = t;
    break;
  }
  if (ev.reset().error()) return std::nullopt;
  for (auto fr : ev) {
    od::field f;
    std::string_view key;
    if (std::move(fr).get(f) || !json_internal::Key(f, &key)) return std::nullopt;
    if (key != "object" || object_seen) continue;
    object_seen = true;
    std::string_view otok = f.value().raw_json_token();
    if (otok.empty()) return std::nullopt;
    if (otok[0] != '{') continue;
    od::object obj;
    if (f.value().get_object().get(obj)) return std::nullopt;
    out.has_object = true;
    if (!DecodeEventObject(obj, kind, &out)) return std::nullopt;
  }
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return std::nullopt;
  return out;
}

}  // namespace kilo
