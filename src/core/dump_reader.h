#pragma once
// The fast reader of kubectl Lists (simdjson On-Demand), shared by
// VisitClusterDump (dump_reader.cc) and ClusterDumpStream (dump_stream.cc);
// internal to core.

#include <optional>

#include "core/object_decode.h"

namespace kilo::json_internal {

// Reads a kubectl List with simdjson On-Demand, handing Nodes over as views
// into the input. Every method returns false to give up: the caller then
// decodes the whole input with DecodeClusterObjects, the reference (which also
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
        // Not an array: the input is a single object (the reference's case).
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
    // Anything after the root value is an error (the reference's).
    return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
  }

 private:
  bool Items(od::array& items) {
    // One pass over the structural index only (cheap); the array is then
    // rewound. Lets the model be allocated once instead of doubling.
    // Malformed (it is then unsafe to go on): the reference reports it.
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

  bool Item(od::value& item, size_t /*index*/) {
    std::string_view tok = item.raw_json_token();
    if (tok.empty()) return false;
    released_ |= v_->OnConsumed(tok.data());
    if (tok[0] != '{') {
      // Not an object: no "kind", skipped (strings and arrays unread;
      // a number item is the whole decoder's).
      if (tok[0] == '-' || (tok[0] >= '0' && tok[0] <= '9')) return false;
      JsonType t;
      std::string_view s;
      if (!Str(item, &t, &s)) return false;
      v_->OnSkipped();
      return true;
    }
    od::object obj;
    if (item.get_object().get(obj)) return false;
    // The first "kind" and "apiVersion" decide what the item is (as a DOM
    // lookup reads them); they precede "metadata" and "spec" in what kubectl
    // writes, and a Node is then read in this one pass. Otherwise (a Peer,
    // or "kind" after "metadata") the item is read again once its kind is
    // known.
    enum class What { kUndecided, kNode, kPeer, kSkip };
    bool kind_seen = false, api_seen = false, meta_seen = false, spec_seen = false, again = false,
         named = false;
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
    NodeFieldsSink sink{&n, label_};
    for (auto fr : obj) {
      od::field f;
      std::string_view key;
      if (std::move(fr).get(f) || !Key(f, &key)) return false;
      if (key == "kind" || key == "apiVersion") {
        bool& seen = key == "kind" ? kind_seen : api_seen;
        if (seen) continue;
        seen = true;
        if (!StrOrEmpty(f.value(), key == "kind" ? &kind : &api)) return false;
        if (what == What::kUndecided) what = decide(false);
        if (what == What::kPeer) again = true;  // read by DecodePeer
        continue;
      }
      if (again) continue;
      bool is_meta = key == "metadata";
      if (!is_meta && key != "spec") continue;
      if (what == What::kUndecided) what = decide(false);
      if (what == What::kUndecided || what == What::kPeer) {
        again = true;
        continue;
      }
      if (what == What::kSkip) continue;
      if (is_meta && !meta_seen) {
        meta_seen = true;
        if (!NodeMetadata(f.value(), &sink, &named)) return false;
      } else if (!is_meta && !spec_seen) {
        spec_seen = true;
        if (!NodeSpec(f.value(), &sink)) return false;
      }
    }
    what = decide(true);
    if (what == What::kSkip) {
      v_->OnSkipped();
      return true;
    }
    std::string why;
    if (what == What::kPeer) {
      PeerObject p;
      if (obj.reset().error() || !DecodePeer(obj, &p, &why) || !why.empty()) return false;
      v_->OnPeer(std::move(p));
      return true;
    }
    if (again) {
      if (obj.reset().error() || !DecodeNode(obj, &sink, &why)) return false;
    } else if (!meta_seen) {
      why = "metadata missing";
    } else if (!named) {
      why = "metadata.name missing";
    }
    // An invalid item: the whole input is decoded again for the error.
    if (!why.empty()) return false;
    v_->OnNode(n);
    return true;
  }

  std::string_view label_;
  const char* end_;  // end of the input
  ClusterDumpVisitor* v_;
  bool released_ = false;
  const char* items_at_ = nullptr;  // see ExpectItemsAt
};

}  // namespace kilo::json_internal
