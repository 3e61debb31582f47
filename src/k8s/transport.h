#pragma once
// HTTP transport to the Kubernetes API server: an abstract interface (so the
// informer and the client can be tested against a fake) and the helpers every
// implementation shares. The real one is HttpTransport (k8s/http_transport.h).

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/thread_annotations.h"
#include "k8s/credentials.h"
#include "k8s/kubeconfig.h"

namespace kilo::k8s {

// A cancellation flag shared between a caller and a running request. Cancel()
// wakes a streaming request promptly (through the waker the transport set)
// and aborts a plain request within a fraction of a second.
// Thread-safe.
class CancelToken {
 public:
  CancelToken() = default;
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  void Cancel();
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  // Clears the flag so the token can be reused for the next request.
  void Reset() { cancelled_.store(false, std::memory_order_release); }

  // Internal: the transport registers a wake-up hook while a stream runs
  // (one at a time: a token is not shared by two concurrent streams).
  void SetWaker(std::function<void()> waker);

 private:
  std::atomic<bool> cancelled_{false};
  Mutex mu_;
  std::function<void()> waker_ GUARDED_BY(mu_);
};

struct HttpRequest {
  std::string method = "GET";
  // Path and query relative to the server, e.g. "/api/v1/nodes?limit=500".
  std::string path;
  std::string body;
  std::string content_type;  // for the body; empty = none
  // Overall time limit; zero = the transport's default (streams: none).
  std::chrono::milliseconds timeout{0};
  // Optional; when cancelled the request fails with a "cancelled" error.
  CancelToken* cancel = nullptr;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string content_type;
  // The Retry-After header in seconds, when present and numeric.
  std::optional<int> retry_after;
};

// Receives the body of a streaming response as it arrives, in arbitrary
// chunks. Returns false to stop the stream.
using ChunkCallback = std::function<bool(std::string_view chunk)>;

// Talks HTTP to one API server. Responses with any HTTP status are returned as
// values (the caller decides what a 404 means); errors are transport failures
// (connection, TLS, timeout, cancellation). Authentication is applied by the
// transport; a 401/403 comes back as a response (see DescribeHttpError).
// Implementations must be thread-safe.
class Transport {
 public:
  virtual ~Transport() = default;

  // Performs `req` and returns the whole response. May retry internally (429
  // and 5xx with Retry-After, credential refresh after a 401).
  virtual Result<HttpResponse> Do(const HttpRequest& req) = 0;

  // Performs a streaming request. When the status is 2xx the body is passed to
  // `on_chunk` as it arrives and the returned response has an empty body;
  // otherwise the body is collected into the response and `on_chunk` is never
  // called. Returns when the server closes the stream, `on_chunk` returns
  // false, the timeout passes, or req.cancel is cancelled (then an error).
  virtual Result<HttpResponse> Stream(const HttpRequest& req, const ChunkCallback& on_chunk) = 0;

  // The server URL, e.g. "https://10.0.0.1:6443", for messages.
  virtual std::string server() const = 0;
  // Where the credentials come from, for messages (see ClusterConfig::source).
  virtual std::string credential_source() const = 0;
};

// Returns a message for a non-2xx response to `method url` that says what went
// wrong and what to do, e.g. "the API server rejected our credentials (401
// Unauthorized) for https://...: check the token in KUBECONFIG ...".
// `credential_source` names where the credentials came from.
std::string DescribeHttpError(const HttpResponse& resp, const std::string& method,
                              const std::string& url, const std::string& credential_source);

// Parses a Retry-After header value (delay-seconds only; HTTP dates are
// ignored). Returns nullopt when absent or unparsable.
std::optional<int> ParseRetryAfter(std::string_view value);

// Percent-encodes a query parameter value (RFC 3986 unreserved characters
// are kept).
std::string QueryEscape(std::string_view s);

struct RetryOptions {
  // Attempts after the first one, for 429 / 5xx responses.
  int max_retries = 5;
  // Retry-After values above this are clamped, so a misbehaving server
  // cannot stall the agent.
  std::chrono::milliseconds max_retry_after{std::chrono::seconds(30)};
  // Delay for a 429 without Retry-After.
  std::chrono::milliseconds default_delay{std::chrono::seconds(1)};
};

// Decides whether a response should be retried. Returns the delay before the
// next attempt, or nullopt to return the response as is. `attempt` counts the
// retries already made (0 for the first response). Like client-go, only 429
// and 5xx responses are retried, and a 5xx only when it carries Retry-After.
std::optional<std::chrono::milliseconds> RetryDelay(const HttpResponse& resp, int attempt,
                                                    const RetryOptions& opts);

}  // namespace kilo::k8s
