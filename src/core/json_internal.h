#pragma once
// Internals shared by core's JSON decoders (object_dom.cc, dump_reader.cc,
// dump_stream.cc, api_json.cc); not part of core's API.

#include <simdjson.h>

#include <string>
#include <string_view>

#include "core/objects.h"
#include "core/objects_json.h"
#include "core/status.h"

namespace kilo::json_internal {

namespace od = simdjson::ondemand;
using simdjson::dom::element;

// The DOM decoders of one object, the reference every faster path falls back
// on (and matches). Errors name what is missing ("metadata.name missing").
Status DecodeNode(element item, NodeObject* n);
Status DecodePeer(element item, PeerObject* p);
// One item of a List: a Node, a Peer (by kind and apiVersion) or something
// else (counted in skipped). Errors are prefixed "item INDEX (KIND)".
Status DecodeItem(element item, size_t index, ClusterObjects* out);
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
// The text of the object or array that starts at `p`, found by matching
// brackets outside strings; empty when it does not end before `end`.
std::string_view ValueExtent(const char* p, const char* end);
// Hands the objects of DecodeClusterObjectsImpl(text, padded) to `v`.
Status VisitWithDom(std::string_view text, bool padded, const std::string& topology_label,
                    ClusterDumpVisitor* v);

}  // namespace kilo::json_internal
