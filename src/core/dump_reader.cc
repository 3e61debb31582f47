// VisitClusterDump: a kubectl List read with simdjson On-Demand
// (dump_reader.h), the reference (DecodeClusterObjects) when anything is unusual.

#include "core/dump_reader.h"

#include <bit>
#include <cstring>

namespace kilo {
namespace json_internal {

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

Status VisitWhole(std::string_view text, bool padded, const std::string& topology_label,
                  ClusterDumpVisitor* v) {
  auto objs = DecodeClusterObjectsImpl(text, padded);
  if (!objs.ok()) return objs.status();
  for (const auto& n : objs->nodes) v->OnNode(NodeFields::Of(n, topology_label));
  for (auto& p : objs->peers) v->OnPeer(std::move(p));
  for (int i = 0; i < objs->skipped; ++i) v->OnSkipped();
  return Status::Ok();
}

}  // namespace json_internal

using json_internal::FastDumpReader;
using json_internal::VisitWhole;
namespace od = simdjson::ondemand;

Status VisitClusterDump(std::string_view text, bool padded, const std::string& topology_label,
                        ClusterDumpVisitor* visitor) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || (text[first] != '{' && text[first] != '['))
    return VisitWhole(text, padded, topology_label, visitor);  // YAML, or empty
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
  return VisitWhole(text, true, topology_label, visitor);
}

}  // namespace kilo
