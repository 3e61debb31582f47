#include "k8s/transport.h"

#include <curl/curl.h>

#include <atomic>
#include <cctype>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

namespace kilo::k8s {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool CurlHasHttp2() {
  static const bool has = (curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_HTTP2) != 0;
  return has;
}

// One reusable easy handle per thread: curl_easy_reset keeps its connection
// cache, so consecutive requests from a thread reuse the TLS connection.
struct ThreadHandle {
  CURL* h = nullptr;
  ~ThreadHandle() {
    if (h) curl_easy_cleanup(h);
  }
};

CURL* ThreadCurl() {
  thread_local ThreadHandle th;
  if (!th.h) th.h = curl_easy_init();
  return th.h;
}

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

struct CallState {
  const ChunkCallback* on_chunk = nullptr;
  CURL* h = nullptr;
  HttpResponse* resp = nullptr;
  CancelToken* cancel = nullptr;
  bool stopped_by_callback = false;
};

size_t HeaderCb(char* data, size_t size, size_t n, void* userp) {
  auto* st = static_cast<CallState*>(userp);
  std::string_view line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front())))
      value.remove_prefix(1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
      value.remove_suffix(1);
    if (name == "retry-after") {
      st->resp->retry_after = ParseRetryAfter(value);
    } else if (name == "content-type") {
      st->resp->content_type = std::string(value);
    }
  } else if (line.rfind("HTTP/", 0) == 0) {
    // A new response (e.g. after 100 Continue): forget earlier headers.
    st->resp->retry_after.reset();
    st->resp->content_type.clear();
  }
  return size * n;
}

size_t WriteCb(char* data, size_t size, size_t n, void* userp) {
  auto* st = static_cast<CallState*>(userp);
  size_t len = size * n;
  if (st->on_chunk) {
    long code = 0;
    curl_easy_getinfo(st->h, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200 && code < 300) {
      if (!(*st->on_chunk)(std::string_view(data, len))) {
        st->stopped_by_callback = true;
        return 0;  // aborts the transfer with CURLE_WRITE_ERROR
      }
      return len;
    }
  }
  st->resp->body.append(data, len);
  return len;
}

int XferInfoCb(void* userp, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* st = static_cast<CallState*>(userp);
  return st->cancel && st->cancel->cancelled() ? 1 : 0;
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

Result<std::unique_ptr<CurlTransport>> CurlTransport::Create(ClusterConfig config,
                                                             CurlTransportOptions options) {
  using R = Result<std::unique_ptr<CurlTransport>>;
  GlobalInit();
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
    return R::Error("server " + config.server + " (from " + config.source +
                    ") is not an http(s) URL");
  }
  auto creds = CredentialProvider::Create(config, options.credentials);
  if (!creds) return R::Error(creds.error());
  return R(std::unique_ptr<CurlTransport>(
      new CurlTransport(std::move(config), std::move(options), std::move(*creds))));
}

CurlTransport::CurlTransport(ClusterConfig config, CurlTransportOptions options,
                             std::unique_ptr<CredentialProvider> creds)
    : config_(std::move(config)), options_(std::move(options)), creds_(std::move(creds)) {
  base_url_ = config_.server;
  if (!config_.tls_server_name.empty()) {
    // Split "scheme://host[:port][/prefix]".
    size_t hs = config_.server.find("://") + 3;
    size_t pe = config_.server.find('/', hs);
    std::string hostport =
        config_.server.substr(hs, pe == std::string::npos ? std::string::npos : pe - hs);
    std::string prefix = pe == std::string::npos ? "" : config_.server.substr(pe);
    std::string scheme = config_.server.substr(0, hs - 3);
    std::string host = hostport, port = scheme == "https" ? "443" : "80";
    size_t colon = hostport.rfind(':');
    size_t bracket = hostport.rfind(']');
    if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
      host = hostport.substr(0, colon);
      port = hostport.substr(colon + 1);
    }
    base_url_ = scheme + "://" + config_.tls_server_name + ":" + port + prefix;
    connect_to_ = config_.tls_server_name + ":" + port + ":" + host + ":" + port;
  }
}

CurlTransport::~CurlTransport() = default;

void CurlTransport::Sleep(std::chrono::milliseconds d, CancelToken* cancel) {
  if (options_.sleep) {
    options_.sleep(d);
    return;
  }
  auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
    if (cancel && cancel->cancelled()) return;
    auto left = end - std::chrono::steady_clock::now();
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(50)));
  }
}

Result<HttpResponse> CurlTransport::Do(const HttpRequest& req) { return WithRetries(req, nullptr); }

Result<HttpResponse> CurlTransport::Stream(const HttpRequest& req, const ChunkCallback& on_chunk) {
  return WithRetries(req, &on_chunk);
}

Result<HttpResponse> CurlTransport::WithRetries(const HttpRequest& req,
                                                const ChunkCallback* on_chunk) {
  bool reauthed = false;
  for (int attempt = 0;;) {
    if (req.cancel && req.cancel->cancelled()) {
      return Result<HttpResponse>::Error(req.method + " " + config_.server + req.path +
                                         ": cancelled");
    }
    auto r = Perform(req, on_chunk);
    if (!r.ok()) return r;
    if (r->status == 401 && !reauthed) {
      // An exec credential may have been revoked early, or a projected token
      // rotated: fetch fresh credentials once before giving up.
      reauthed = true;
      if (creds_->Invalidate()) continue;
    }
    auto delay = RetryDelay(*r, attempt, options_.retry);
    if (!delay) return r;
    ++attempt;
    Sleep(*delay, req.cancel);
  }
}

Result<HttpResponse> CurlTransport::Perform(const HttpRequest& req, const ChunkCallback* on_chunk) {
  const std::string url = base_url_ + req.path;
  auto fail = [&](const std::string& m) { return Result<HttpResponse>::Error(m); };
  auto creds = creds_->Get();
  if (!creds) return fail(req.method + " " + url + ": " + creds.error());

  const bool streaming = on_chunk != nullptr;
  CURL* h = streaming ? curl_easy_init() : ThreadCurl();
  if (!h) return fail(req.method + " " + url + ": curl_easy_init failed");
  if (!streaming) curl_easy_reset(h);
  struct Cleanup {
    CURL* h;
    bool own;
    curl_slist* headers = nullptr;
    curl_slist* connect_to = nullptr;
    ~Cleanup() {
      if (headers) curl_slist_free_all(headers);
      if (connect_to) curl_slist_free_all(connect_to);
      if (own) curl_easy_cleanup(h);
    }
  } cleanup{h, streaming};

  HttpResponse resp;
  CallState st;
  st.on_chunk = on_chunk;
  st.h = h;
  st.resp = &resp;
  st.cancel = req.cancel;
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (!connect_to_.empty()) {
    cleanup.connect_to = curl_slist_append(nullptr, connect_to_.c_str());
    curl_easy_setopt(h, CURLOPT_CONNECT_TO, cleanup.connect_to);
  }
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
  if (CurlHasHttp2()) curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  std::chrono::milliseconds timeout = req.timeout.count() > 0 ? req.timeout
                                      : streaming             ? std::chrono::milliseconds(0)
                                                              : options_.request_timeout;
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  // Detect a dead API server on an idle watch connection.
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 15L);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // gzip etc.: large LISTs compress well

  // TLS: verified unless the kubeconfig explicitly says otherwise.
  if (config_.insecure_skip_tls_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  } else {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  }
  curl_blob ca_blob{};
  if (!config_.ca_data.empty()) {
    ca_blob.data = const_cast<char*>(config_.ca_data.data());
    ca_blob.len = config_.ca_data.size();
    ca_blob.flags = CURL_BLOB_COPY;
    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca_blob);
  } else if (!config_.ca_file.empty()) {
    curl_easy_setopt(h, CURLOPT_CAINFO, config_.ca_file.c_str());
  }
  curl_blob cert_blob{}, key_blob{};
  if (!creds->client_cert_pem.empty()) {
    cert_blob.data = creds->client_cert_pem.data();
    cert_blob.len = creds->client_cert_pem.size();
    cert_blob.flags = CURL_BLOB_COPY;
    key_blob.data = creds->client_key_pem.data();
    key_blob.len = creds->client_key_pem.size();
    key_blob.flags = CURL_BLOB_COPY;
    curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert_blob);
    curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key_blob);
    curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (!creds->username.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, creds->username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, creds->password.c_str());
  }

  curl_slist*& headers = cleanup.headers;
  headers = curl_slist_append(headers, "Accept: application/json");
  if (!creds->token.empty()) {
    std::string auth = "Authorization: Bearer " + creds->token;
    headers = curl_slist_append(headers, auth.c_str());
  }
  if (!req.content_type.empty()) {
    std::string ct = "Content-Type: " + req.content_type;
    headers = curl_slist_append(headers, ct.c_str());
  }
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);

  if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.c_str());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
  }
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, HeaderCb);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &st);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteCb);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
  if (req.cancel) {
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, XferInfoCb);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &st);
  }

  CURLcode rc = CURLE_OK;
  if (!streaming) {
    rc = curl_easy_perform(h);
  } else {
    // The multi interface lets Cancel() wake the poll at once instead of
    // waiting for the next progress callback.
    CURLM* m = curl_multi_init();
    curl_multi_add_handle(m, h);
    if (req.cancel) req.cancel->SetWaker([m] { curl_multi_wakeup(m); });
    int running = 1;
    while (running) {
      if (req.cancel && req.cancel->cancelled()) {
        rc = CURLE_ABORTED_BY_CALLBACK;
        break;
      }
      CURLMcode mc = curl_multi_perform(m, &running);
      if (mc != CURLM_OK) {
        rc = CURLE_FAILED_INIT;
        std::snprintf(errbuf, sizeof errbuf, "%s", curl_multi_strerror(mc));
        break;
      }
      if (!running) break;
      curl_multi_poll(m, nullptr, 0, 1000, nullptr);
    }
    if (running == 0) {
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(m, &left)) {
        if (msg->msg == CURLMSG_DONE) rc = msg->data.result;
      }
    }
    if (req.cancel) req.cancel->SetWaker(nullptr);
    curl_multi_remove_handle(m, h);
    curl_multi_cleanup(m);
  }
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  resp.status = code;

  if (rc == CURLE_WRITE_ERROR && st.stopped_by_callback) rc = CURLE_OK;
  if (rc != CURLE_OK) {
    std::string err = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    const std::string what = req.method + " " + url;
    switch (rc) {
      case CURLE_ABORTED_BY_CALLBACK:
        return fail(what + ": cancelled");
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
        return fail("TLS verification of the API server " + config_.server + " failed: " + err +
                    ": the server certificate does not match the certificate-authority of " +
                    config_.source + "; fix the CA (never disable verification)");
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_SSL_CERTPROBLEM:
        return fail("TLS handshake with the API server " + config_.server + " failed: " + err +
                    ": check the CA and client certificate of " + config_.source);
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
        return fail("cannot connect to the API server " + config_.server + ": " + err +
                    ": check the server address in " + config_.source +
                    " and that the API server is running");
      case CURLE_OPERATION_TIMEDOUT:
        return fail(what + ": timed out: " + err);
      default:
        // A stream that ends mid-transfer after a 2xx (e.g. the server closed
        // the watch) is an error for the caller to handle by reconnecting.
        return fail(what + ": " + err);
    }
  }
  return resp;
}

}  // namespace kilo::k8s
