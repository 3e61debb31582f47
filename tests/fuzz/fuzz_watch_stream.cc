// A Kubernetes watch response body (src/k8s/watch_stream.cc): bytes ->
// FrameSplitter, fed whole, one byte at a time, and in chunks of
// input-derived sizes (1 B to 4 KiB, so frames are cut mid-object, mid-string
// and mid-escape) -> each frame through core's DecodeWatchEvent as a Node and
// as a Peer event (what the informer applies: ADDED/MODIFIED/DELETED/
// BOOKMARK/ERROR, 410 Gone; src/core/api_json.cc) -> a decoded Peer through
// EncodePeerJson (src/k8s/decode.cc) -> DecodePeerObject.
//
// Checks: no crash, UB or exception (the informer runs the parsers on its
// thread, inside the transport's chunk callback: an exception there ends kg); the
// frames and the pending remainder are the same whatever the chunking; frames
// are in order, non-empty and bracket-balanced at their ends; a decoded
// object has a name; a Peer without type errors survives encode -> decode.

#include <cstdint>
#include <string>
#include <vector>

#include "core/api_json.h"
#include "core/objects_json.h"
#include "fuzz_common.h"
#include "k8s/decode.h"
#include "k8s/watch_stream.h"

using namespace kilo;
using namespace kilo::k8s;

namespace {

struct Split {
  std::vector<std::string> frames;
  size_t pending = 0;
};

// Feeds `in` in chunks of the sizes `next()` returns.
template <typename F>
Split Run(std::string_view in, F next) {
  Split out;
  FrameSplitter s;
  size_t pos = 0;
  while (pos < in.size()) {
    size_t n = std::min(in.size() - pos, next());
    bool ok = s.Feed(in.substr(pos, n), [&](std::string_view f) {
      out.frames.emplace_back(f);
      return true;
    });
    FUZZ_CHECK(ok, "Feed failed below the frame limit");
    pos += n;
  }
  out.pending = s.pending();
  return out;
}

void CheckFrame(const std::string& f) {
  FUZZ_CHECK(!f.empty(), "empty frame");
  char c = f.front();
  FUZZ_CHECK(c != ' ' && c != '\n' && c != '\r' && c != '\t', "frame starts with whitespace");
  if (c == '{' || c == '[')
    FUZZ_CHECK(f.back() == '}' || f.back() == ']', "object frame not closed: %c", f.back());
  else
    FUZZ_CHECK(f.back() == '\n' && f.find('\n') == f.size() - 1, "bare frame not one line");

  std::optional<ApiWatchEvent> nev = DecodeWatchEvent(f, ObjectKind::kNode);
  std::optional<ApiWatchEvent> pev = DecodeWatchEvent(f, ObjectKind::kPeer);
  FUZZ_CHECK(nev.has_value() == pev.has_value(), "the kind decides whether a frame is an event");
  if (!nev || !nev->has_object) return;
  if (nev->type == "ERROR") FUZZ_CHECK(!nev->message.empty(), "ERROR event without a message");
  if (nev->type != "ADDED" && nev->type != "MODIFIED") return;
  if (nev->node) {
    const NodeObject& n = *nev->node;
    FUZZ_CHECK(!n.name.empty(), "Node without a name");
    FUZZ_CHECK(n.name == nev->name, "Node name %s != event name %s", n.name.c_str(),
               nev->name.c_str());
    FUZZ_CHECK(n.resource_version == nev->resource_version, "Node resourceVersion differs");
  } else {
    FUZZ_CHECK(!nev->error.empty(), "Node error without a message");
  }
  if (pev->peer) {
    const PeerObject& p = *pev->peer;
    FUZZ_CHECK(!p.name.empty(), "Peer without a name");
    for (const auto& e : p.type_errors)
      FUZZ_CHECK(e.rfind("spec", 0) == 0, "type error not naming a field: %s", e.c_str());
    if (p.type_errors.empty()) {
      // What kgctl writes back must read back the same.
      std::string text = EncodePeerJson(p).dump();
      auto p2 = DecodePeerObject(text);
      FUZZ_CHECK(p2.ok() && p2->type_errors.empty(), "encoded Peer does not decode: %s",
                 text.c_str());
      FUZZ_CHECK(p2->name == p.name && p2->allowed_ips == p.allowed_ips &&
                     p2->public_key == p.public_key && p2->preshared_key == p.preshared_key &&
                     p2->persistent_keepalive == p.persistent_keepalive &&
                     p2->endpoint_dns == p.endpoint_dns && p2->endpoint_ip == p.endpoint_ip &&
                     p2->endpoint_port == p.endpoint_port,
                 "Peer encode/decode round trip differs: %s", text.c_str());
    }
  } else {
    FUZZ_CHECK(!pev->error.empty(), "Peer error without a message");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1u << 20)) return 0;
  std::string_view in = AsView(data, size);

  Split whole = Run(in, [] { return SIZE_MAX; });
  Split bytes = Run(in, [] { return size_t{1}; });
  // Chunk sizes from an xorshift seeded by the input: deterministic per input.
  uint64_t x = 0x9e3779b97f4a7c15ull ^ size;
  for (size_t i = 0; i < size && i < 64; ++i) x = (x ^ data[i]) * 0x100000001b3ull;
  Split chunks = Run(in, [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    size_t r = x % 100;
    return r < 60 ? 1 + x % 16 : r < 95 ? 1 + x % 512 : 1 + x % 4096;
  });
  FUZZ_CHECK(whole.frames == bytes.frames && whole.frames == chunks.frames,
             "frames depend on chunking: %zu / %zu / %zu", whole.frames.size(), bytes.frames.size(),
             chunks.frames.size());
  FUZZ_CHECK(whole.pending == bytes.pending && whole.pending == chunks.pending,
             "pending depends on chunking: %zu / %zu / %zu", whole.pending, bytes.pending,
             chunks.pending);

  size_t at = 0;
  for (const auto& f : whole.frames) {
    size_t found = in.find(f, at);
    FUZZ_CHECK(found != std::string_view::npos, "frame not in the input in order");
    at = found + f.size();
    CheckFrame(f);
  }
  FUZZ_CHECK(whole.pending <= size - at, "pending %zu > unconsumed %zu", whole.pending, size - at);

  // Stopping at the first frame drops the rest and resets the splitter.
  if (!whole.frames.empty()) {
    FrameSplitter s;
    int calls = 0;
    bool ok = s.Feed(in, [&](std::string_view) { return ++calls < 1; });
    FUZZ_CHECK(!ok && calls == 1 && s.pending() == 0, "stop did not stop");
  }
  return 0;
}
