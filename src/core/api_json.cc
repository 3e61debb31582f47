#include "core/api_json.h"

#include <cmath>
#include <cstdint>

#include "core/json_internal.h"

namespace kilo {
namespace {

using json_internal::element;

std::string StringOr(element e, const char* key) {
  std::string_view v;
  if (e[key].get(v)) return {};
  return std::string(v);
}

// Decodes one item as `kind` into `page`; records why it could not.
void DecodeInto(element item, size_t index, ObjectKind kind, ListPage* page) {
  Status s = Status::Ok();
  if (kind == ObjectKind::kNode) {
    NodeObject n;
    s = json_internal::DecodeNode(item, &n);
    if (s.ok()) page->nodes.push_back(std::move(n));
  } else {
    PeerObject p;
    s = json_internal::DecodePeer(item, &p);
    if (s.ok()) page->peers.push_back(std::move(p));
  }
  if (!s.ok()) page->skipped.push_back("item " + std::to_string(index) + ": " + s.message());
}

}  // namespace

namespace {

Result<ListPage> DecodePage(std::string_view json, ObjectKind kind, bool padded) {
  simdjson::dom::parser parser;
  element root;
  if (auto err = parser.parse(json.data(), json.size(), !padded).get(root))
    return Result<ListPage>::Error(std::string("not valid JSON: ") + simdjson::error_message(err));
  if (!root.is_object()) return Result<ListPage>::Error("not a JSON object");
  ListPage page;
  simdjson::dom::array items;
  if (!root["items"].get(items)) {
    if (kind == ObjectKind::kNode) page.nodes.reserve(items.size());
    size_t i = 0;
    for (element item : items) DecodeInto(item, i++, kind, &page);
  }
  element md;
  if (!root["metadata"].get(md)) {
    page.continue_token = StringOr(md, "continue");
    page.resource_version = StringOr(md, "resourceVersion");
  }
  return page;
}

}  // namespace

Result<ListPage> DecodeListPage(std::string_view json, ObjectKind kind) {
  return DecodePage(json, kind, false);
}

Result<ListPage> DecodeListPagePadded(const std::string& json, ObjectKind kind) {
  return DecodePage(json, kind, json.capacity() - json.size() >= simdjson::SIMDJSON_PADDING);
}

std::optional<ApiWatchEvent> DecodeWatchEvent(std::string_view frame, ObjectKind kind) {
  simdjson::dom::parser parser;
  element ev;
  if (parser.parse(frame.data(), frame.size(), true).get(ev) || !ev.is_object())
    return std::nullopt;
  ApiWatchEvent out;
  out.type = StringOr(ev, "type");
  element obj;
  if (ev["object"].get(obj) || !obj.is_object()) return out;
  out.has_object = true;
  element md;
  if (!obj["metadata"].get(md)) {
    out.name = StringOr(md, "name");
    out.resource_version = StringOr(md, "resourceVersion");
  }
  if (out.type == "ERROR") {
    // metav1.Status.code is an int32; anything else is no code.
    element c;
    if (!obj["code"].get(c)) {
      double v = NAN;
      int64_t i;
      uint64_t u;
      double d;
      if (!c.get(i)) {
        v = static_cast<double>(i);
      } else if (!c.get(u)) {
        v = static_cast<double>(u);
      } else if (!c.get(d)) {
        v = d;
      }
      if (v >= INT32_MIN && v <= INT32_MAX) out.code = static_cast<int>(v);
    }
    std::string_view m;
    if (!obj["message"].get(m)) {
      out.message = std::string(m);
    } else {
      out.message = "no message";
    }
    return out;
  }
  if (out.type == "ADDED" || out.type == "MODIFIED") {
    Status s = Status::Ok();
    if (kind == ObjectKind::kNode) {
      NodeObject n;
      s = json_internal::DecodeNode(obj, &n);
      if (s.ok()) out.node = std::move(n);
    } else {
      PeerObject p;
      s = json_internal::DecodePeer(obj, &p);
      if (s.ok()) out.peer = std::move(p);
    }
    if (!s.ok()) out.error = s.message();
  }
  return out;
}

}  // namespace kilo
