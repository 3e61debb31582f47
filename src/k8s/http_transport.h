#pragma once
// The transport to the API server: HTTP/1.1 over TCP, TLS by mbedTLS, response
// parsing by http-parser (k8s/http1.h). Written for what kg and kgctl need and
// nothing more, so both link it statically (libcurl's shared dependency tree
// cost kg 9 MiB of RSS: issue 18).

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/thread_annotations.h"
#include "k8s/credentials.h"
#include "k8s/kubeconfig.h"
#include "k8s/transport.h"

namespace kilo::k8s {

struct HttpTransportOptions {
  // Covers the TCP connection and the TLS handshake.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  // Default overall timeout of Do() requests.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(60)};
  RetryOptions retry;
  // Sleeps between retries; nullptr = std::this_thread::sleep_for (cut short
  // by HttpRequest::cancel).
  std::function<void(std::chrono::milliseconds)> sleep;
  std::string user_agent = "kilo-cpp/0.7";
  CredentialProviderOptions credentials;
  // Idle keep-alive connections kept for Do(); more concurrent requests open
  // more connections, closed after use.
  int max_idle_connections = 4;
  // The proxy that https servers are reached through with CONNECT, as curl
  // and client-go read it: nullopt = $HTTPS_PROXY, else $https_proxy; "" =
  // none. Only http:// proxies ("http://[user:pass@]host:port").
  std::optional<std::string> https_proxy;
  // Hosts reached directly: nullopt = $NO_PROXY, else $no_proxy (see
  // NoProxyMatches).
  std::optional<std::string> no_proxy;
};

// Whether `host` (a name or an IP address, without brackets or port) is
// exempt from the proxy by `no_proxy`, a comma-separated list as Go's
// net/http reads it: "*" (everything), an IP address, a CIDR, or a domain
// ("example.com" and ".example.com" both match example.com's subdomains, the
// former also example.com itself); an entry's ":port" is ignored. Loopback
// addresses and "localhost" are always exempt, as in Go.
bool NoProxyMatches(std::string_view no_proxy, std::string_view host);

// The TLS 1.2 cipher suites HttpTransport offers, most preferred first, by
// mbedTLS's names ("TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256"):
// ChaCha20-Poly1305, then AES-GCM, then mbedTLS's other defaults (see
// http_transport.cc for why).
std::vector<std::string> OfferedCipherSuites();

// HTTP/1.1 to one API server. TLS (1.2) verifies the peer's chain against the
// kubeconfig's certificate-authority (or the system store) and its name
// (tls-server-name, else the server's host name or IP address) unless the
// kubeconfig says insecure-skip-tls-verify. Do() reuses keep-alive
// connections from a small pool; Stream() opens its own connection and closes
// it at the end. An https server is reached through HTTPS_PROXY (CONNECT)
// unless NO_PROXY exempts it; an http:// server is always dialled directly.
// Thread-safe.
class HttpTransport final : public Transport {
 public:
  // Errors when config.server is not an http(s) URL or the credentials cannot
  // be loaded. TLS material (CA, client certificate) is loaded by the first
  // request, whose error names it.
  static Result<std::unique_ptr<HttpTransport>> Create(ClusterConfig config,
                                                       HttpTransportOptions options = {});
  ~HttpTransport() override;

  Result<HttpResponse> Do(const HttpRequest& req) override;
  Result<HttpResponse> Stream(const HttpRequest& req, const ChunkCallback& on_chunk) override;
  std::string server() const override { return config_.server; }
  std::string credential_source() const override { return config_.source; }

  // Connections opened so far (tests: keep-alive reuse).
  int connections_opened() const { return opened_.load(std::memory_order_relaxed); }

 private:
  struct Tls;
  class Conn;
  struct Failure;
  struct Io;

  HttpTransport(ClusterConfig config, HttpTransportOptions options,
                std::unique_ptr<CredentialProvider> creds);
  Result<HttpResponse> WithRetries(const HttpRequest& req, const ChunkCallback* on_chunk);
  // One request; `on_chunk` set for a stream.
  Result<HttpResponse> Perform(const HttpRequest& req, const ChunkCallback* on_chunk);
  void Sleep(std::chrono::milliseconds d, CancelToken* cancel);
  // The TLS configuration for a client certificate (empty: none), built on
  // first use and rebuilt when an exec plugin hands out another certificate.
  Result<std::shared_ptr<Tls>> TlsFor(const Credentials& creds);
  // Connects (TCP, then TLS for https). Returns nullptr and sets *failure on
  // failure.
  std::unique_ptr<Conn> Dial(const std::shared_ptr<Tls>& tls, const Io& io, Failure* failure);
  // Parses the proxy URL into proxy_*_.
  Status SetProxy(const std::string& url);
  // Opens the tunnel to the API server on a connection to the proxy.
  std::optional<Failure> ProxyConnect(Conn& conn, const Io& io,
                                      std::chrono::steady_clock::time_point until);
  std::unique_ptr<Conn> TakeIdle(const Tls* tls);
  void PutIdle(std::unique_ptr<Conn> conn);
  std::string Describe(const Failure& f, const std::string& what) const;

  const ClusterConfig config_;
  const HttpTransportOptions options_;
  const std::unique_ptr<CredentialProvider> creds_;
  bool https_ = true;
  std::string host_;         // to dial: name or IP, without brackets
  std::string port_;         // "6443"
  std::string prefix_;       // a path prefix of the server URL, "" usually
  std::string host_header_;  // "name[:port]": tls-server-name when set
  std::string base_url_;     // for messages, as curl showed it
  // The CONNECT proxy, when one is used.
  std::string proxy_host_, proxy_port_, proxy_auth_, proxy_url_;
  std::atomic<int> opened_{0};

  Mutex tls_mu_;
  std::shared_ptr<Tls> tls_ GUARDED_BY(tls_mu_);
  Mutex pool_mu_;
  std::vector<std::unique_ptr<Conn>> idle_ GUARDED_BY(pool_mu_);
};

}  // namespace kilo::k8s
