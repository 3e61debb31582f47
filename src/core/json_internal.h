#pragma once
// Internals shared by core's JSON decoders (object_decode.cc,
// cluster_objects.cc, dump_reader.cc, dump_stream.cc, api_json.cc); not part
// of core's API.

#include <simdjson.h>

#include <string>
#include <string_view>

#include "core/objects.h"
#include "core/objects_json.h"
#include "core/status.h"

namespace kilo::json_internal {

namespace od = simdjson::ondemand;

// DecodeClusterObjects; `padded`: `text` may be read kJsonPadding bytes past
// its end.
Result<ClusterObjects> DecodeClusterObjectsImpl(std::string_view text, bool padded);

bool IsJsonSpace(char c);
// The index of the first '"' or '\\' from `p` on, 8 bytes at a time. There
// is one before the end of the input (p is in a string that stage 1 found
// closed), and the input is padded: reading up to 7 bytes past it is safe.
size_t QuoteOrBackslash(const char* p);
// `tok` (a token and the whitespace up to the next one) is the literal `lit`.
bool IsLiteral(std::string_view tok, std::string_view lit);
// Hands the objects of DecodeClusterObjectsImpl(text, padded) to `v`.
Status VisitWhole(std::string_view text, bool padded, const std::string& topology_label,
                  ClusterDumpVisitor* v);

}  // namespace kilo::json_internal
