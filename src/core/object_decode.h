#pragma once
// The one decoder of Nodes and Peers (simdjson On-Demand), whatever they come
// in: a dump file (dump_reader.h, dump_stream.cc), a LIST page or a watch
// event (api_json.cc), a single object (cluster_objects.cc). Internal to core.
//
// Every function returns false when the JSON it reads is broken (the caller
// stops: simdjson's iterator is then unusable); an object that is valid JSON
// but not a valid Node/Peer sets `why` ("metadata.name missing") instead.
// Where a key repeats, the first one counts, as in a DOM lookup.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_internal.h"

namespace kilo::json_internal {

enum class JsonType { kString, kNull, kOther };

// The key of a field (unescaped only when it has escapes).
bool Key(od::field& f, std::string_view* out);
// A value that Kilo reads as a string: its type, and the string (a view into
// the input unless it has escapes, then into the parser). Containers are
// kOther, left unread; numbers are kOther, checked as the DOM parser would.
// Reads `v` (call it once per value).
bool Str(od::value& v, JsonType* type, std::string_view* out);
// A string field: "" unless a string.
bool StrOrEmpty(od::value& v, std::string_view* out);
// Is `v` an object? Other values are checked as Str() does.
bool IsObject(od::value& v, bool* is_object);
// The strings of an array (other elements skipped); a non-array is empty.
bool StrArray(od::value v, std::vector<std::string_view>* out);

// Calls on(i, value) for the first field of `obj` named keys[i]; the other
// fields and later repeats are skipped. False when the JSON is broken or
// `on` returns false.
template <size_t N, class On>
bool FirstFields(od::object& obj, const std::array<std::string_view, N>& keys, On on) {
  std::array<bool, N> seen{};
  for (auto fr : obj) {
    od::field f;
    std::string_view key;
    if (std::move(fr).get(f) || !Key(f, &key)) return false;
    size_t i = 0;
    while (i < N && key != keys[i]) ++i;
    if (i == N || seen[i]) continue;
    seen[i] = true;
    if (!on(i, f.value())) return false;
  }
  return true;
}

// metadata (or any ObjectMeta): name, resourceVersion, uid ("" unless strings;
// a non-object has none).
bool ObjectMetaStrings(od::value v, std::string_view* name, std::string_view* rv,
                       std::string_view* uid);

// A Node, read into a sink: NodeFields (views, for translation) or a
// NodeObject (copies, for the informer). A sink has
//   Name(sv) ResourceVersion(sv) Uid(sv) PodCIDR(sv) PodCIDRs(vector<sv>)
//   bool WantsLabel(k) Label(k, sv) bool WantsAnnotation(k) Annotation(k, sv)
// where a label or annotation value is a string or null (given as "").
template <class Sink>
bool NodeMetadata(od::value v, Sink* s, bool* named) {
  bool is_object;
  if (!IsObject(v, &is_object)) return false;
  if (!is_object) return true;  // no name: the caller's error
  od::object m;
  if (v.get_object().get(m)) return false;
  bool name_seen = false, rv_seen = false, uid_seen = false, labels_seen = false, ann_seen = false;
  for (auto fr : m) {
    od::field f;
    std::string_view key, val;
    if (std::move(fr).get(f) || !Key(f, &key)) return false;
    if (key == "name" || key == "resourceVersion" || key == "uid") {
      bool& seen = key == "name" ? name_seen : key == "uid" ? uid_seen : rv_seen;
      if (seen) continue;
      seen = true;
      if (!StrOrEmpty(f.value(), &val)) return false;
      if (key == "name") {
        s->Name(val);
        *named = !val.empty();
      } else if (key == "uid") {
        s->Uid(val);
      } else {
        s->ResourceVersion(val);
      }
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
        if (labels ? !s->WantsLabel(k) : !s->WantsAnnotation(k)) continue;
        JsonType t;
        if (!Str(e.value(), &t, &val)) return false;
        if (t == JsonType::kOther) continue;
        if (t == JsonType::kNull) val = {};
        if (labels) {
          s->Label(k, val);
        } else {
          s->Annotation(k, val);
        }
      }
    }
  }
  return true;
}

// spec: podCIDR, podCIDRs (a non-object has none).
template <class Sink>
bool NodeSpec(od::value v, Sink* s) {
  bool is_object;
  if (!IsObject(v, &is_object)) return false;
  if (!is_object) return true;
  od::object spec;
  if (v.get_object().get(spec)) return false;
  static constexpr std::array<std::string_view, 2> kKeys = {"podCIDR", "podCIDRs"};
  return FirstFields(spec, kKeys, [&](size_t i, od::value& f) {
    if (i == 0) {
      std::string_view c;
      if (!StrOrEmpty(f, &c)) return false;
      s->PodCIDR(c);
      return true;
    }
    std::vector<std::string_view> cidrs;
    if (!StrArray(f, &cidrs)) return false;
    s->PodCIDRs(cidrs);
    return true;
  });
}

// A whole Node object. `why`: "metadata missing", "metadata.name missing".
template <class Sink>
bool DecodeNode(od::object& obj, Sink* s, std::string* why) {
  bool meta_seen = false, named = false;
  static constexpr std::array<std::string_view, 2> kKeys = {"metadata", "spec"};
  if (!FirstFields(obj, kKeys, [&](size_t i, od::value& f) {
        if (i == 1) return NodeSpec(f, s);
        meta_seen = true;
        return NodeMetadata(f, s, &named);
      }))
    return false;
  if (!meta_seen) {
    *why = "metadata missing";
  } else if (!named) {
    *why = "metadata.name missing";
  }
  return true;
}

// The sink that fills NodeFields: the topology label `label` and the
// annotations of kNodeAnnotationKeys, the first of each.
struct NodeFieldsSink {
  NodeFields* n;
  std::string_view label;
  void Name(std::string_view v) { n->name = v; }
  void ResourceVersion(std::string_view) {}
  void Uid(std::string_view) {}
  void PodCIDR(std::string_view v) { n->pod_cidr = v; }
  void PodCIDRs(std::vector<std::string_view>& v) { n->pod_cidrs = std::move(v); }
  bool WantsLabel(std::string_view k) const { return k == label && !n->topology_label; }
  void Label(std::string_view, std::string_view v) { n->topology_label = v; }
  bool WantsAnnotation(std::string_view k) {
    int i = NodeAnnotationIndex(k);
    return i >= 0 && !n->annotations[static_cast<size_t>(i)];
  }
  void Annotation(std::string_view k, std::string_view v) {
    n->annotations[static_cast<size_t>(NodeAnnotationIndex(k))] = v;
  }
};

// A Node into a NodeObject (all labels, the Kilo annotations).
bool DecodeNode(od::object& obj, NodeObject* n, std::string* why);
// A Peer into a PeerObject; wrongly typed fields go to type_errors.
bool DecodePeer(od::object& obj, PeerObject* p, std::string* why);
// Same, for any value: a non-object is "metadata missing".
bool DecodeNode(od::value v, NodeObject* n, std::string* why);
bool DecodePeer(od::value v, PeerObject* p, std::string* why);

}  // namespace kilo::json_internal
