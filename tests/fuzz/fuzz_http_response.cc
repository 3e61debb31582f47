// Fuzzes the transport's HTTP/1.1 response parser (k8s/http1.h: http-parser,
// zlib for a gzip body, and our header and framing handling) with what an API
// server, or anything on its port, may send.
//
// Input: byte 0 picks a split point, the rest is the response. Checks: no
// crash, UB or exception; the parse ends the same way (status, body, done,
// error) whether the bytes arrive whole or in two pieces; a streamed 2xx
// body equals the collected one.

#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "k8s/http1.h"

namespace {

struct Outcome {
  bool ok = true;
  bool done = false;
  long status = 0;
  std::string body;
};

Outcome Parse(std::string_view wire, size_t split, bool stream) {
  Outcome o;
  std::string streamed;
  kilo::k8s::ChunkCallback cb = [&](std::string_view s) {
    streamed.append(s);
    return true;
  };
  kilo::k8s::ResponseParser p(stream ? &cb : nullptr);
  kilo::Status s = p.Feed(wire.substr(0, split));
  if (s.ok()) s = p.Feed(wire.substr(split));
  if (s.ok()) s = p.FeedEof();
  o.ok = s.ok();
  o.done = p.done();
  o.status = p.response().status;
  o.body = p.response().body + streamed;
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view wire = AsView(data + 1, size - 1);
  size_t split = wire.empty() ? 0 : data[0] % (wire.size() + 1);
  Outcome whole = Parse(wire, wire.size(), false);
  Outcome cut = Parse(wire, split, false);
  FUZZ_CHECK(whole.ok == cut.ok && whole.done == cut.done && whole.status == cut.status &&
                 whole.body == cut.body,
             "split at %zu changed the result", split);
  Outcome streamed = Parse(wire, split, true);
  FUZZ_CHECK(streamed.ok == whole.ok && streamed.status == whole.status &&
                 (!whole.ok || streamed.body == whole.body),
             "streaming changed the result");
  return 0;
}
