#include "k8s/transport.h"

#include <cctype>
#include <cstring>
#include <nlohmann/json.hpp>

namespace kilo::k8s {
namespace {

std::string ReasonPhrase(long code) {
  switch (code) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "HTTP " + std::to_string(code);
  }
}

// The message of a Kubernetes Status body, or a prefix of a non-JSON body.
std::string ServerMessage(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    auto it = j.find("message");
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  }
  std::string s = body.substr(0, 200);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

}  // namespace

void CancelToken::Cancel() {
  cancelled_.store(true, std::memory_order_release);
  MutexLock lock(&mu_);
  if (waker_) waker_();
}

void CancelToken::SetWaker(std::function<void()> waker) {
  MutexLock lock(&mu_);
  waker_ = std::move(waker);
}

std::string QueryEscape(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::optional<int> ParseRetryAfter(std::string_view v) {
  if (v.empty() || v.size() > 9) return std::nullopt;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

std::optional<std::chrono::milliseconds> RetryDelay(const HttpResponse& resp, int attempt,
                                                    const RetryOptions& opts) {
  if (attempt >= opts.max_retries) return std::nullopt;
  bool retryable =
      resp.status == 429 || (resp.status >= 500 && resp.status <= 599 && resp.retry_after);
  if (!retryable) return std::nullopt;
  std::chrono::milliseconds d =
      resp.retry_after ? std::chrono::milliseconds(std::chrono::seconds(*resp.retry_after))
                       : opts.default_delay;
  if (d > opts.max_retry_after) d = opts.max_retry_after;
  return d;
}

std::string DescribeHttpError(const HttpResponse& resp, const std::string& method,
                              const std::string& url, const std::string& credential_source) {
  const std::string code =
      "(" + std::to_string(resp.status) + " " + ReasonPhrase(resp.status) + ")";
  std::string msg = ServerMessage(resp.body);
  std::string detail = msg.empty() ? "" : ": " + msg;
  switch (resp.status) {
    case 401:
      return "the API server rejected our credentials " + code + " for " + url +
             ": check the token in KUBECONFIG or the credentials of " + credential_source;
    case 403:
      return "the API server denied access " + code + " to " + method + " " + url + detail +
             ": grant the user of " + credential_source +
             " Kilo's RBAC permissions (the ClusterRole in Kilo's manifests)";
    case 404:
      return method + " " + url + ": not found " + code + detail;
    case 409:
      return method + " " + url + ": conflict " + code + detail + ": re-read the object and retry";
    case 410:
      return method + " " + url + ": resource version too old " + code + detail;
    case 422:
      return method + " " + url + ": rejected as invalid " + code + detail;
    case 429:
      return method + " " + url + ": the API server is throttling us " + code +
             " and retries did not help" + detail;
    default:
      if (resp.status >= 500) {
        return method + " " + url + ": API server error " + code + detail;
      }
      return method + " " + url + ": unexpected response " + code + detail;
  }
}

}  // namespace kilo::k8s
