// ClusterDumpStream: a kubectl List that arrives in pieces, decoded in
// batches of whole items with the fast reader (dump_reader.h).

#include <algorithm>
#include <cstring>

#include "core/dump_reader.h"

namespace kilo {

using json_internal::FastDumpReader;
using json_internal::IsJsonSpace;
namespace od = simdjson::ondemand;

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
      // The value of the first "items": an array, or the reference's case.
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

}  // namespace kilo
