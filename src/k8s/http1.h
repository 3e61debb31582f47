#pragma once
// HTTP/1.1 on a byte stream, the parts the API server client needs: writing a
// request, and an incremental response parser. The parsing itself (status
// line, headers, Content-Length, chunked and close-delimited bodies) is
// nodejs' http-parser; a gzip body is decoded by libdeflate when collected,
// by zlib when streamed. This adds what the transport keeps of a response.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "k8s/transport.h"

namespace kilo::k8s {

struct Http1Request {
  std::string method = "GET";
  std::string target;  // origin-form: "/api/v1/nodes?limit=500"
  std::string host;    // the Host header: "name" or "name:port"
  // Further headers, written in order after Host.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // POST, PUT and PATCH always carry a Content-Length, even for an empty body.
  bool force_content_length = false;
};

// Returns the request as it goes on the wire.
std::string SerializeRequest(const Http1Request& req);

// Parses one response from bytes fed in arbitrary pieces.
// Not thread-safe (one per request).
class ResponseParser {
 public:
  // `stream`: when set, the body of a 2xx response is handed to it as it
  // arrives instead of being collected; when it returns false, parsing stops
  // (stopped() is true). The body of any other status is collected. A gzip
  // or deflate Content-Encoding is decoded in both cases (a collected gzip
  // body at the end of the response, whole).
  explicit ResponseParser(const ChunkCallback* stream = nullptr);
  ~ResponseParser();
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  // Feeds the next bytes. Returns an error for a malformed response. Bytes
  // after the end of the response are not consumed: trailing() says whether
  // there were any.
  Status Feed(std::string_view data);
  // Tells the parser the connection was closed: the end of a close-delimited
  // body; an error when the response is incomplete otherwise.
  Status FeedEof();

  // The status line and headers were parsed.
  bool headers_done() const { return headers_done_; }
  // The whole response was parsed (or the stream callback stopped it).
  bool done() const { return complete_ || stopped_; }
  bool stopped() const { return stopped_; }
  // Bytes arrived after the response ended.
  bool trailing() const { return trailing_; }
  // The connection may carry another request (HTTP/1.1 keep-alive, body
  // delimited, no "Connection: close").
  bool keep_alive() const { return complete_ && keep_alive_ && !trailing_; }
  // Some bytes of a response were received.
  bool started() const { return started_; }

  HttpResponse& response() { return resp_; }

 private:
  // The body goes to the stream callback (a 2xx with one), not into resp_.
  bool Streamed() const { return stream_ && resp_.status >= 200 && resp_.status < 300; }

  struct Impl;
  std::unique_ptr<Impl> impl_;
  const ChunkCallback* stream_;
  HttpResponse resp_;
  std::string field_, value_;
  std::string encoding_;    // Content-Encoding, lower case
  std::string body_error_;  // a body that cannot be decoded
  bool in_value_ = false;
  bool headers_done_ = false;
  bool complete_ = false;
  bool stopped_ = false;
  bool trailing_ = false;
  bool keep_alive_ = false;
  bool started_ = false;
  friend struct ResponseParserCallbacks;
};

}  // namespace kilo::k8s
