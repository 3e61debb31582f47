#include "k8s/http_transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <mbedtls/asn1.h>
#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/x509_crt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/ip.h"
#include "k8s/http1.h"

namespace kilo::k8s {
namespace {

using Clock = std::chrono::steady_clock;

std::string MbedError(int rc) {
  char buf[160];
  mbedtls_strerror(rc, buf, sizeof buf);
  return buf;
}

// The system's CA bundle (Debian's ca-certificates), used when the kubeconfig
// names no certificate-authority, as libcurl did.
constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

std::string Base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  size_t olen = 0;
  mbedtls_base64_encode(reinterpret_cast<unsigned char*>(out.data()), out.size(), &olen,
                        reinterpret_cast<const unsigned char*>(in.data()), in.size());
  out.resize(olen);
  return out;
}

std::string PercentDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::string Lower(std::string_view in) {
  std::string out(in);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Env(const char* upper, const char* lower) {
  if (const char* v = std::getenv(upper); v && *v) return v;
  if (const char* v = std::getenv(lower); v && *v) return v;
  return "";
}

// Splits "host[:port]" (IPv6 in brackets); `port` keeps its value without one.
void SplitHostPort(std::string_view hostport, std::string* host, std::string* port) {
  size_t colon = hostport.rfind(':');
  size_t bracket = hostport.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    *port = std::string(hostport.substr(colon + 1));
    hostport = hostport.substr(0, colon);
  }
  if (hostport.size() >= 2 && hostport.front() == '[' && hostport.back() == ']')
    hostport = hostport.substr(1, hostport.size() - 2);
  *host = std::string(hostport);
}

// The TLS 1.2 cipher suites offered, most preferred first, 0-terminated (as
// mbedtls_ssl_conf_ciphersuites keeps it). A Go server (kube-apiserver)
// chooses by its own order (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305)
// unless the client lists ChaCha20-Poly1305 before AES-GCM: then
// ChaCha20-Poly1305. Go's client lists AES-GCM first when the CPU has AES
// instructions because Go's AES-GCM is then the faster; mbedTLS 2.28's is
// not: its GCM goes 16 bytes a call. On the 2-core Xeon (AES-NI, PCLMULQDQ),
// 48 MiB of LIST JSON (5,000 Nodes) takes 245 ms to decrypt with AES-128-GCM
// or AES-256-GCM, 175 ms with ChaCha20-Poly1305, and kgctl showconf live
// costs 180 ms with ChaCha20 against 195 ms with AES-128-GCM (gzipped; 275
// against 330 ms uncompressed). So ChaCha20-Poly1305 first, then AES-GCM in
// Go's order; every other suite of mbedTLS's defaults follows in its order,
// so that no server that accepted the client before refuses it now.
const std::vector<int>& OfferedCipherSuiteIds() {
  static const std::vector<int> ids = [] {
    const int preferred[] = {
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    };
    std::vector<int> out;
    for (int id : preferred)
      if (mbedtls_ssl_ciphersuite_from_id(id) != nullptr) out.push_back(id);
    for (const int* id = mbedtls_ssl_list_ciphersuites(); *id != 0; ++id)
      if (std::find(out.begin(), out.end(), *id) == out.end()) out.push_back(*id);
    out.push_back(0);
    return out;
  }();
  return ids;
}

}  // namespace

std::vector<std::string> OfferedCipherSuites() {
  std::vector<std::string> out;
  for (int id : OfferedCipherSuiteIds())
    if (id != 0) out.emplace_back(mbedtls_ssl_get_ciphersuite_name(id));
  return out;
}

// What went wrong with a request, before it becomes a message (Describe).
struct HttpTransport::Failure {
  enum Kind { kConnect, kTlsVerify, kTlsHandshake, kTlsSetup, kTimeout, kCancelled, kIo };
  Kind kind = kIo;
  std::string detail;
};

// The limits of one request's I/O: a deadline, a cancellation token, and the
// eventfd the token's waker writes to (streams).
struct HttpTransport::Io {
  Clock::time_point deadline = Clock::time_point::max();
  CancelToken* cancel = nullptr;
  int wake_fd = -1;

  enum Wait { kReady, kTimeout, kCancelled };
  // Waits until `fd` has one of `events` (or an error), the deadline passes,
  // or the request is cancelled.
  Wait WaitFd(int fd, short events, Clock::time_point until) const {
    for (;;) {
      if (cancel && cancel->cancelled()) return kCancelled;
      auto now = Clock::now();
      if (now >= until) return kTimeout;
      // Without a waker, the cancellation flag is polled every 200 ms.
      auto slice = std::chrono::milliseconds(wake_fd >= 0 ? 1000 : cancel ? 200 : 60000);
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now) +
                  std::chrono::milliseconds(1);
      int ms = static_cast<int>(std::min(left, slice).count());
      pollfd p[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
      int n = ::poll(p, wake_fd >= 0 ? 2 : 1, ms);
      if (n < 0 && errno != EINTR) return kReady;  // let the I/O call report it
      if (n > 0 && p[0].revents) return kReady;
      // A wake-up: the loop sees the flag.
    }
  }
  Wait WaitFd(int fd, short events) const { return WaitFd(fd, events, deadline); }
};

// The TLS client configuration shared by a transport's connections (mbedTLS
// is built with MBEDTLS_THREADING_C: the DRBG and the key lock themselves).
struct HttpTransport::Tls {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_x509_crt ca;
  mbedtls_x509_crt own_cert;
  mbedtls_pk_context own_key;
  mbedtls_ssl_config conf;
  bool verify = true;
  // The name to verify and send as SNI; empty when verifying an IP address.
  std::string hostname;
  // The address to find among the certificate's IP subjectAltNames.
  std::string ip;  // 4 or 16 bytes; empty for a name
  // The client certificate this was built for.
  std::string cert_pem, key_pem;

  Tls() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_x509_crt_init(&ca);
    mbedtls_x509_crt_init(&own_cert);
    mbedtls_pk_init(&own_key);
    mbedtls_ssl_config_init(&conf);
  }
  ~Tls() {
    mbedtls_ssl_config_free(&conf);
    mbedtls_pk_free(&own_key);
    mbedtls_x509_crt_free(&own_cert);
    mbedtls_x509_crt_free(&ca);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
  Tls(const Tls&) = delete;
  Tls& operator=(const Tls&) = delete;

  // mbedTLS 2.28 checks only DNS names (and the CN) against the host name;
  // an API server is usually addressed by IP, so its IP subjectAltNames are
  // checked here, on the leaf certificate.
  static int VerifyIp(void* self, mbedtls_x509_crt* crt, int depth, uint32_t* flags) {
    auto* tls = static_cast<Tls*>(self);
    if (depth != 0 || tls->ip.empty()) return 0;
    for (const mbedtls_x509_sequence* san = &crt->subject_alt_names; san; san = san->next) {
      if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && san->buf.len == tls->ip.size() &&
          std::memcmp(san->buf.p, tls->ip.data(), tls->ip.size()) == 0) {
        return 0;
      }
    }
    *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
    return 0;
  }
};

// One connection: a non-blocking socket, with TLS on top for https.
class HttpTransport::Conn {
 public:
  Conn(int fd, std::shared_ptr<Tls> tls) : fd_(fd), tls_(std::move(tls)) {}
  ~Conn() {
    if (ssl_) {
      if (handshake_done_) mbedtls_ssl_close_notify(ssl_.get());  // best effort
      mbedtls_ssl_free(ssl_.get());
    }
    ::close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  const Tls* tls() const { return tls_.get(); }

  // Runs the TLS handshake (no-op for http).
  std::optional<Failure> Handshake(const Io& io, Clock::time_point until) {
    if (!tls_) return std::nullopt;
    ssl_ = std::make_unique<mbedtls_ssl_context>();
    mbedtls_ssl_init(ssl_.get());
    int rc = mbedtls_ssl_setup(ssl_.get(), &tls_->conf);
    if (rc == 0 && !tls_->hostname.empty())
      rc = mbedtls_ssl_set_hostname(ssl_.get(), tls_->hostname.c_str());
    if (rc != 0) return Failure{Failure::kTlsSetup, MbedError(rc)};
    mbedtls_ssl_set_bio(ssl_.get(), this, Send, Recv, nullptr);
    for (;;) {
      rc = mbedtls_ssl_handshake(ssl_.get());
      if (rc == 0) break;
      if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
        auto w = io.WaitFd(fd_, rc == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, until);
        if (w == Io::kCancelled) return Failure{Failure::kCancelled, ""};
        if (w == Io::kTimeout) return Failure{Failure::kTimeout, "TLS handshake timed out"};
        continue;
      }
      if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        char info[512];
        int n = mbedtls_x509_crt_verify_info(info, sizeof info, "",
                                             mbedtls_ssl_get_verify_result(ssl_.get()));
        std::string s(info, n > 0 ? static_cast<size_t>(n) : 0);
        while (!s.empty() && s.back() == '\n') s.pop_back();
        for (auto& c : s)
          if (c == '\n') c = ';';
        return Failure{Failure::kTlsVerify, s.empty() ? MbedError(rc) : s};
      }
      return Failure{Failure::kTlsHandshake, Detail(rc)};
    }
    handshake_done_ = true;
    return std::nullopt;
  }

  std::optional<Failure> WriteAll(std::string_view data, const Io& io) {
    while (!data.empty()) {
      ssize_t n;
      if (ssl_) {
        int rc = mbedtls_ssl_write(ssl_.get(), reinterpret_cast<const unsigned char*>(data.data()),
                                   data.size());
        if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
          if (auto f = Wait(rc == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, io)) return f;
          continue;
        }
        if (rc < 0) return Failure{Failure::kIo, "send: " + Detail(rc)};
        n = rc;
      } else {
        n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EAGAIN || errno == EINTR) {
            if (auto f = Wait(POLLOUT, io)) return f;
            continue;
          }
          return Failure{Failure::kIo, std::string("send: ") + std::strerror(errno)};
        }
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return std::nullopt;
  }

  // Reads some bytes into `buf`; *n = 0 at the end of the stream.
  std::optional<Failure> Read(char* buf, size_t cap, size_t* n, const Io& io) {
    for (;;) {
      if (ssl_) {
        int rc = mbedtls_ssl_read(ssl_.get(), reinterpret_cast<unsigned char*>(buf), cap);
        if (rc >= 0) {
          *n = static_cast<size_t>(rc);
          return std::nullopt;
        }
        if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF) {
          *n = 0;
          return std::nullopt;
        }
        if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
          if (auto f = Wait(rc == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, io)) return f;
          continue;
        }
        return Failure{Failure::kIo, "receive: " + Detail(rc)};
      }
      ssize_t r = ::recv(fd_, buf, cap, 0);
      if (r >= 0) {
        *n = static_cast<size_t>(r);
        return std::nullopt;
      }
      if (errno == EAGAIN || errno == EINTR) {
        if (auto f = Wait(POLLIN, io)) return f;
        continue;
      }
      return Failure{Failure::kIo, std::string("receive: ") + std::strerror(errno)};
    }
  }

  // An idle keep-alive connection is still usable: the server has neither
  // closed it nor sent anything unasked.
  bool IdleAlive() const {
    if (ssl_ && mbedtls_ssl_get_bytes_avail(ssl_.get()) > 0) return false;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }

 private:
  std::optional<Failure> Wait(short events, const Io& io) {
    switch (io.WaitFd(fd_, events)) {
      case Io::kReady:
        return std::nullopt;
      case Io::kCancelled:
        return Failure{Failure::kCancelled, ""};
      case Io::kTimeout:
        break;
    }
    return Failure{Failure::kTimeout, "no response in time"};
  }

  // An mbedTLS error, with the socket's errno when it was a socket error.
  std::string Detail(int rc) const {
    if ((rc == MBEDTLS_ERR_NET_SEND_FAILED || rc == MBEDTLS_ERR_NET_RECV_FAILED) && errno_)
      return std::strerror(errno_);
    return MbedError(rc);
  }

  static int Send(void* self, const unsigned char* buf, size_t len) {
    auto* c = static_cast<Conn*>(self);
    ssize_t n = ::send(c->fd_, buf, len, MSG_NOSIGNAL);
    if (n >= 0) return static_cast<int>(n);
    if (errno == EAGAIN || errno == EINTR) return MBEDTLS_ERR_SSL_WANT_WRITE;
    c->errno_ = errno;
    return MBEDTLS_ERR_NET_SEND_FAILED;
  }
  static int Recv(void* self, unsigned char* buf, size_t len) {
    auto* c = static_cast<Conn*>(self);
    ssize_t n = ::recv(c->fd_, buf, len, 0);
    if (n >= 0) return static_cast<int>(n);
    if (errno == EAGAIN || errno == EINTR) return MBEDTLS_ERR_SSL_WANT_READ;
    c->errno_ = errno;
    return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
  }

  const int fd_;
  const std::shared_ptr<Tls> tls_;
  std::unique_ptr<mbedtls_ssl_context> ssl_;
  bool handshake_done_ = false;
  int errno_ = 0;
};

bool NoProxyMatches(std::string_view no_proxy, std::string_view host_in) {
  const std::string host = Lower(host_in);
  auto ip = IPAddr::Parse(host);
  if (host == "localhost" || (ip && ip->IsLoopback())) return true;
  while (!no_proxy.empty()) {
    size_t comma = no_proxy.find(',');
    std::string_view entry = no_proxy.substr(0, comma);
    no_proxy.remove_prefix(comma == std::string_view::npos ? no_proxy.size() : comma + 1);
    while (!entry.empty() && std::isspace(static_cast<unsigned char>(entry.front())))
      entry.remove_prefix(1);
    while (!entry.empty() && std::isspace(static_cast<unsigned char>(entry.back())))
      entry.remove_suffix(1);
    if (entry.empty()) continue;
    if (entry == "*") return true;
    if (entry.find('/') != std::string_view::npos) {
      auto prefix = IPPrefix::Parse(entry);
      if (prefix && ip && prefix->Contains(*ip)) return true;
      continue;
    }
    std::string name, port;
    SplitHostPort(entry, &name, &port);
    name = Lower(name);
    if (auto eip = IPAddr::Parse(name)) {
      if (ip && *eip == *ip) return true;
      continue;
    }
    if (ip) continue;
    if (name.front() == '.') name.erase(0, 1);
    if (host == name || (host.size() > name.size() &&
                         host.compare(host.size() - name.size(), name.size(), name) == 0 &&
                         host[host.size() - name.size() - 1] == '.'))
      return true;
  }
  return false;
}

Result<std::unique_ptr<HttpTransport>> HttpTransport::Create(ClusterConfig config,
                                                             HttpTransportOptions options) {
  using R = Result<std::unique_ptr<HttpTransport>>;
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
    return R::Error("server " + config.server + " (from " + config.source +
                    ") is not an http(s) URL");
  }
  auto creds = CredentialProvider::Create(config, options.credentials);
  if (!creds) return R::Error(creds.error());
  auto t = std::unique_ptr<HttpTransport>(
      new HttpTransport(std::move(config), std::move(options), std::move(*creds)));
  if (t->host_.empty()) {
    return R::Error("server " + t->config_.server + " (from " + t->config_.source +
                    ") has no host");
  }
  if (t->https_) {
    const auto& o = t->options_;
    std::string proxy = o.https_proxy ? *o.https_proxy : Env("HTTPS_PROXY", "https_proxy");
    std::string no_proxy = o.no_proxy ? *o.no_proxy : Env("NO_PROXY", "no_proxy");
    if (!proxy.empty() && !NoProxyMatches(no_proxy, t->host_)) {
      if (Status s = t->SetProxy(proxy); !s.ok()) return R(s);
    }
  }
  return R(std::move(t));
}

HttpTransport::HttpTransport(ClusterConfig config, HttpTransportOptions options,
                             std::unique_ptr<CredentialProvider> creds)
    : config_(std::move(config)), options_(std::move(options)), creds_(std::move(creds)) {
  // Split "scheme://host[:port][/prefix]".
  const std::string& s = config_.server;
  size_t hs = s.find("://") + 3;
  https_ = s.compare(0, hs - 3, "https") == 0;
  size_t pe = s.find('/', hs);
  std::string hostport = s.substr(hs, pe == std::string::npos ? std::string::npos : pe - hs);
  prefix_ = pe == std::string::npos ? "" : s.substr(pe);
  while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
  std::string host = hostport;
  port_ = https_ ? "443" : "80";
  bool explicit_port = false;
  size_t colon = hostport.rfind(':');
  size_t bracket = hostport.rfind(']');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    host = hostport.substr(0, colon);
    port_ = hostport.substr(colon + 1);
    explicit_port = true;
  }
  host_ = host;
  if (host_.size() >= 2 && host_.front() == '[' && host_.back() == ']')
    host_ = host_.substr(1, host_.size() - 2);
  host_header_ = hostport;
  base_url_ = config_.server;
  if (!config_.tls_server_name.empty()) {
    // Verified against tls-server-name and named so in the Host header, as
    // libcurl's CONNECT_TO did, while the connection goes to the real host.
    host_header_ = config_.tls_server_name + (explicit_port ? ":" + port_ : "");
    base_url_ = s.substr(0, hs) + config_.tls_server_name + ":" + port_ + prefix_;
  }
}

HttpTransport::~HttpTransport() = default;

Status HttpTransport::SetProxy(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return Status::Error("HTTPS_PROXY " + url + ": " + why +
                         " (want http://[user:password@]host:port; exempt the API server " + host_ +
                         " with NO_PROXY, or unset HTTPS_PROXY)");
  };
  std::string_view rest = url;
  size_t scheme_end = rest.find("://");
  if (scheme_end != std::string_view::npos) {
    if (Lower(rest.substr(0, scheme_end)) != "http")
      return bad("only http:// proxies are supported");
    rest.remove_prefix(scheme_end + 3);
  }
  rest = rest.substr(0, rest.find('/'));
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    size_t colon = userinfo.find(':');
    std::string user = PercentDecode(userinfo.substr(0, colon));
    std::string pass =
        colon == std::string_view::npos ? "" : PercentDecode(userinfo.substr(colon + 1));
    proxy_auth_ = Base64(user + ":" + pass);
    rest.remove_prefix(at + 1);
  }
  proxy_port_ = "80";
  SplitHostPort(rest, &proxy_host_, &proxy_port_);
  if (proxy_host_.empty() || proxy_port_.empty()) return bad("no host");
  proxy_url_ = "http://" + std::string(rest);
  return Status::Ok();
}

std::optional<HttpTransport::Failure> HttpTransport::ProxyConnect(Conn& conn, const Io& io,
                                                                  Clock::time_point until) {
  const std::string target =
      (host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_) + ":" + port_;
  std::string req = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n";
  if (!proxy_auth_.empty()) req += "Proxy-Authorization: Basic " + proxy_auth_ + "\r\n";
  req += "User-Agent: " + options_.user_agent + "\r\n\r\n";
  Io connect_io = io;
  connect_io.deadline = until;
  const std::string via = "through the proxy " + proxy_url_ + " (HTTPS_PROXY)";
  if (auto f = conn.WriteAll(req, connect_io)) {
    if (f->kind == Failure::kIo) f->kind = Failure::kConnect;
    f->detail += " " + via;
    return f;
  }
  // The reply's head, read a byte at a time: what follows is the server's.
  std::string head;
  while (head.size() < 16384 && head.find("\r\n\r\n") == std::string::npos) {
    char c;
    size_t n = 0;
    if (auto f = conn.Read(&c, 1, &n, connect_io)) {
      if (f->kind == Failure::kIo) f->kind = Failure::kConnect;
      f->detail += " " + via;
      return f;
    }
    if (n == 0) return Failure{Failure::kConnect, "the proxy closed the connection " + via};
    head.push_back(c);
  }
  std::string line = head.substr(0, head.find("\r\n"));
  size_t sp = line.find(' ');
  std::string code = sp == std::string::npos ? "" : line.substr(sp + 1, 3);
  if (line.rfind("HTTP/1.", 0) != 0 || code.empty() || code[0] != '2') {
    return Failure{Failure::kConnect,
                   "CONNECT " + target + " " + via + " answered \"" + line + "\"" +
                       (code == "407" ? ": set the proxy's credentials in "
                                        "HTTPS_PROXY (http://user:password@host:port)"
                                      : "")};
  }
  return std::nullopt;
}

void HttpTransport::Sleep(std::chrono::milliseconds d, CancelToken* cancel) {
  if (options_.sleep) {
    options_.sleep(d);
    return;
  }
  auto end = Clock::now() + d;
  while (Clock::now() < end) {
    if (cancel && cancel->cancelled()) return;
    auto left = end - Clock::now();
    std::this_thread::sleep_for(std::min<Clock::duration>(left, std::chrono::milliseconds(50)));
  }
}

Result<HttpResponse> HttpTransport::Do(const HttpRequest& req) { return WithRetries(req, nullptr); }

Result<HttpResponse> HttpTransport::Stream(const HttpRequest& req, const ChunkCallback& on_chunk) {
  return WithRetries(req, &on_chunk);
}

Result<HttpResponse> HttpTransport::WithRetries(const HttpRequest& req,
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

Result<std::shared_ptr<HttpTransport::Tls>> HttpTransport::TlsFor(const Credentials& creds) {
  using R = Result<std::shared_ptr<Tls>>;
  MutexLock lock(&tls_mu_);
  if (tls_ && tls_->cert_pem == creds.client_cert_pem && tls_->key_pem == creds.client_key_pem)
    return tls_;
  auto tls = std::make_shared<Tls>();
  tls->cert_pem = creds.client_cert_pem;
  tls->key_pem = creds.client_key_pem;
  auto fail = [&](const std::string& what, int rc) {
    return R::Error("TLS setup for the API server " + config_.server + ": " + what + ": " +
                    MbedError(rc));
  };
  static const char kPers[] = "kilo-k8s";
  int rc = mbedtls_ctr_drbg_seed(&tls->drbg, mbedtls_entropy_func, &tls->entropy,
                                 reinterpret_cast<const unsigned char*>(kPers), sizeof kPers - 1);
  if (rc != 0) return fail("seeding the random generator", rc);
  rc = mbedtls_ssl_config_defaults(&tls->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                   MBEDTLS_SSL_PRESET_DEFAULT);
  if (rc != 0) return fail("defaults", rc);
  mbedtls_ssl_conf_rng(&tls->conf, mbedtls_ctr_drbg_random, &tls->drbg);
  mbedtls_ssl_conf_ciphersuites(&tls->conf, OfferedCipherSuiteIds().data());
  mbedtls_ssl_conf_min_version(&tls->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                               MBEDTLS_SSL_MINOR_VERSION_3);  // TLS 1.2
  tls->verify = !config_.insecure_skip_tls_verify;
  if (tls->verify) {
    // PEM needs its terminating NUL counted; DER is taken as is.
    if (!config_.ca_data.empty()) {
      std::string pem = config_.ca_data;
      rc = mbedtls_x509_crt_parse(&tls->ca, reinterpret_cast<const unsigned char*>(pem.c_str()),
                                  pem.size() + 1);
      if (rc < 0)
        return R::Error("TLS verification of the API server " + config_.server +
                        " impossible: the certificate-authority-data of " + config_.source +
                        " is not a certificate (" + MbedError(rc) + "): fix the CA");
    } else if (!config_.ca_file.empty()) {
      rc = mbedtls_x509_crt_parse_file(&tls->ca, config_.ca_file.c_str());
      if (rc < 0)
        return R::Error("TLS verification of the API server " + config_.server +
                        " impossible: certificate-authority " + config_.ca_file + " of " +
                        config_.source + ": " + MbedError(rc) + ": fix the CA");
    } else {
      // No CA named: the system store; a failure here shows as a failed
      // verification of the server's certificate.
      mbedtls_x509_crt_parse_file(&tls->ca, kSystemCaBundle);
    }
    mbedtls_ssl_conf_authmode(&tls->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&tls->conf, &tls->ca, nullptr);
    const std::string& name = config_.tls_server_name.empty() ? host_ : config_.tls_server_name;
    unsigned char addr[16];
    if (inet_pton(AF_INET, name.c_str(), addr) == 1) {
      tls->ip.assign(reinterpret_cast<char*>(addr), 4);
    } else if (inet_pton(AF_INET6, name.c_str(), addr) == 1) {
      tls->ip.assign(reinterpret_cast<char*>(addr), 16);
    } else {
      tls->hostname = name;
    }
    mbedtls_ssl_conf_verify(&tls->conf, Tls::VerifyIp, tls.get());
  } else {
    mbedtls_ssl_conf_authmode(&tls->conf, MBEDTLS_SSL_VERIFY_NONE);
    // SNI still names the server (tls-server-name or its host name).
    const std::string& name = config_.tls_server_name.empty() ? host_ : config_.tls_server_name;
    unsigned char addr[16];
    if (inet_pton(AF_INET, name.c_str(), addr) != 1 && inet_pton(AF_INET6, name.c_str(), addr) != 1)
      tls->hostname = name;
  }
  if (!creds.client_cert_pem.empty()) {
    rc = mbedtls_x509_crt_parse(
        &tls->own_cert, reinterpret_cast<const unsigned char*>(creds.client_cert_pem.c_str()),
        creds.client_cert_pem.size() + 1);
    if (rc != 0)
      return R::Error("TLS setup for the API server " + config_.server +
                      ": the client certificate of " + config_.source + " is not a certificate (" +
                      MbedError(rc) + ")");
    rc = mbedtls_pk_parse_key(&tls->own_key,
                              reinterpret_cast<const unsigned char*>(creds.client_key_pem.c_str()),
                              creds.client_key_pem.size() + 1, nullptr, 0);
    if (rc != 0)
      return R::Error("TLS setup for the API server " + config_.server + ": the client key of " +
                      config_.source + " is not a private key (" + MbedError(rc) + ")");
    rc = mbedtls_ssl_conf_own_cert(&tls->conf, &tls->own_cert, &tls->own_key);
    if (rc != 0) return fail("client certificate", rc);
  }
  tls_ = tls;
  return R(std::move(tls));
}

std::unique_ptr<HttpTransport::Conn> HttpTransport::Dial(const std::shared_ptr<Tls>& tls,
                                                         const Io& io, Failure* failure) {
  auto fail = [&](Failure f) {
    *failure = std::move(f);
    return nullptr;
  };
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  const bool proxied = !proxy_host_.empty();
  const std::string& dial_host = proxied ? proxy_host_ : host_;
  const std::string& dial_port = proxied ? proxy_port_ : port_;
  int gai = getaddrinfo(dial_host.c_str(), dial_port.c_str(), &hints, &res);
  if (gai != 0)
    return fail({Failure::kConnect, "cannot resolve " + dial_host + ": " + gai_strerror(gai) +
                                        (proxied ? " (the proxy of HTTPS_PROXY)" : "")});
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> res_guard(res, freeaddrinfo);
  auto until = std::min(io.deadline, Clock::now() + options_.connect_timeout);
  std::string last = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // Detect a dead API server on an idle watch connection.
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    int idle = 30, intvl = 15;
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno != EINPROGRESS) {
      last = std::strerror(errno);
      ::close(fd);
      continue;
    }
    if (rc != 0) {
      auto w = io.WaitFd(fd, POLLOUT, until);
      if (w == Io::kCancelled) {
        ::close(fd);
        return fail({Failure::kCancelled, ""});
      }
      if (w == Io::kTimeout) {
        ::close(fd);
        last = "connection timed out after " + std::to_string(options_.connect_timeout.count()) +
               " ms";
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last = std::strerror(err);
        ::close(fd);
        continue;
      }
    }
    opened_.fetch_add(1, std::memory_order_relaxed);
    auto conn = std::make_unique<Conn>(fd, tls);
    if (proxied) {
      if (auto f = ProxyConnect(*conn, io, until)) return fail(*f);
    }
    if (auto f = conn->Handshake(io, until)) return fail(*f);
    return conn;
  }
  return fail({Failure::kConnect,
               proxied ? last + " (the proxy " + proxy_url_ + " of HTTPS_PROXY)" : last});
}

std::unique_ptr<HttpTransport::Conn> HttpTransport::TakeIdle(const Tls* tls) {
  std::vector<std::unique_ptr<Conn>> stale;  // closed outside the lock
  std::unique_ptr<Conn> found;
  {
    MutexLock lock(&pool_mu_);
    while (!idle_.empty()) {
      std::unique_ptr<Conn> c = std::move(idle_.back());
      idle_.pop_back();
      if (c->tls() == tls && c->IdleAlive()) {
        found = std::move(c);
        break;
      }
      stale.push_back(std::move(c));
    }
  }
  return found;
}

void HttpTransport::PutIdle(std::unique_ptr<Conn> conn) {
  MutexLock lock(&pool_mu_);
  if (static_cast<int>(idle_.size()) < options_.max_idle_connections)
    idle_.push_back(std::move(conn));
  else
    conn.reset();
}

std::string HttpTransport::Describe(const Failure& f, const std::string& what) const {
  switch (f.kind) {
    case Failure::kCancelled:
      return what + ": cancelled";
    case Failure::kTlsVerify:
      return "TLS verification of the API server " + config_.server + " failed: " + f.detail +
             ": the server certificate does not match the certificate-authority of " +
             config_.source + "; fix the CA (never disable verification)";
    case Failure::kTlsHandshake:
    case Failure::kTlsSetup:
      return "TLS handshake with the API server " + config_.server + " failed: " + f.detail +
             ": check the CA and client certificate of " + config_.source;
    case Failure::kConnect:
      return "cannot connect to the API server " + config_.server + ": " + f.detail +
             ": check the server address in " + config_.source +
             " and that the API server is running";
    case Failure::kTimeout:
      return what + ": timed out: " + f.detail;
    case Failure::kIo:
      break;
  }
  // A stream that ends mid-transfer after a 2xx (e.g. the server closed
  // the watch) is an error for the caller to handle by reconnecting.
  return what + ": " + f.detail;
}

Result<HttpResponse> HttpTransport::Perform(const HttpRequest& req, const ChunkCallback* on_chunk) {
  const std::string url = base_url_ + req.path;
  const std::string what = req.method + " " + url;
  auto fail = [&](const Failure& f) { return Result<HttpResponse>::Error(Describe(f, what)); };
  auto creds = creds_->Get();
  if (!creds) return Result<HttpResponse>::Error(what + ": " + creds.error());
  std::shared_ptr<Tls> tls;
  if (https_) {
    auto t = TlsFor(*creds);
    if (!t) return Result<HttpResponse>::Error(t.error());
    tls = std::move(*t);
  }

  const bool streaming = on_chunk != nullptr;
  Io io;
  io.cancel = req.cancel;
  std::chrono::milliseconds timeout = req.timeout.count() > 0 ? req.timeout
                                      : streaming             ? std::chrono::milliseconds(0)
                                                              : options_.request_timeout;
  if (timeout.count() > 0) io.deadline = Clock::now() + timeout;
  // A stream waits for data for minutes: Cancel() wakes its poll at once.
  struct Waker {
    CancelToken* cancel = nullptr;
    int fd = -1;
    ~Waker() {
      if (cancel) cancel->SetWaker(nullptr);
      if (fd >= 0) ::close(fd);
    }
  } waker;
  if (streaming && req.cancel) {
    waker.fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (waker.fd >= 0) {
      int fd = waker.fd;
      waker.cancel = req.cancel;
      req.cancel->SetWaker([fd] {
        uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(fd, &one, sizeof one);
      });
      io.wake_fd = fd;
      if (req.cancel->cancelled()) return fail({Failure::kCancelled, ""});
    }
  }

  Http1Request hr;
  hr.method = req.method;
  hr.target = prefix_ + req.path;
  hr.host = host_header_;
  hr.headers.emplace_back("User-Agent", options_.user_agent);
  hr.headers.emplace_back("Accept", "application/json");
  // kube-apiserver gzips a response over 128 KiB (level 1: a LIST of 5,000
  // Nodes, 48 MiB of JSON, in 12 MiB), as Go's client asks by default. Cheaper
  // for us too: decrypting the 36 MiB saved costs more than libdeflate takes
  // to inflate (bench/README.md, "kgctl on a live cluster").
  hr.headers.emplace_back("Accept-Encoding", "gzip");
  if (!creds->token.empty()) {
    hr.headers.emplace_back("Authorization", "Bearer " + creds->token);
  } else if (!creds->username.empty()) {
    hr.headers.emplace_back("Authorization",
                            "Basic " + Base64(creds->username + ":" + creds->password));
  }
  if (!req.content_type.empty()) hr.headers.emplace_back("Content-Type", req.content_type);
  hr.body = req.body;
  hr.force_content_length = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
  const std::string wire = SerializeRequest(hr);

  // A reused connection may have been closed by the server just as we sent:
  // when it yields no byte of a response, the request goes again on a new one.
  for (;;) {
    std::unique_ptr<Conn> conn = streaming ? nullptr : TakeIdle(tls.get());
    const bool reused = conn != nullptr;
    if (!conn) {
      Failure f;
      conn = Dial(tls, io, &f);
      if (!conn) return fail(f);
    }
    if (auto f = conn->WriteAll(wire, io)) {
      if (reused && f->kind == Failure::kIo) continue;
      return fail(*f);
    }
    ResponseParser parser(on_chunk);
    char buf[16384];
    bool retry = false;
    while (!parser.done()) {
      size_t n = 0;
      if (auto f = conn->Read(buf, sizeof buf, &n, io)) {
        if (reused && !parser.started() && f->kind == Failure::kIo) {
          retry = true;
          break;
        }
        return fail(*f);
      }
      if (n == 0) {
        if (reused && !parser.started()) {
          retry = true;
          break;
        }
        if (Status s = parser.FeedEof(); !s.ok()) return fail({Failure::kIo, s.message()});
        break;
      }
      if (Status s = parser.Feed(std::string_view(buf, n)); !s.ok())
        return fail({Failure::kIo, s.message()});
    }
    if (retry) continue;
    if (!streaming && parser.keep_alive()) PutIdle(std::move(conn));
    return std::move(parser.response());
  }
}

}  // namespace kilo::k8s
