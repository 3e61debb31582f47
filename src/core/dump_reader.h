#pragma once
// The fast reader of kubectl Lists (simdjson On-Demand), shared by
// VisitClusterDump (dump_reader.cc) and ClusterDumpStream (dump_stream.cc);
// internal to core.

#include <optional>

#include "core/json_internal.h"

namespace kilo::json_internal {

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

}  // namespace kilo::json_internal
