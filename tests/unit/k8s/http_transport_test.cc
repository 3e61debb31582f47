// HttpTransport against a small server on loopback, plain TCP and TLS
// (mbedTLS server side, certificates made with the openssl CLI at test time).

#include "k8s/http_transport.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace kilo::k8s {
namespace {

using namespace std::chrono_literals;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A temporary directory with a CA, a server certificate for 127.0.0.1 signed
// by it, and an unrelated CA. Empty dir() when openssl is missing.
class Certs {
 public:
  Certs() {
    char tmpl[] = "/tmp/kilo-http-test-XXXXXX";
    if (!mkdtemp(tmpl)) return;
    std::string d = tmpl;
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    std::string cmd = "cd " + d + " && openssl req -x509 " + ec +
                      " -keyout ca.key -out ca.crt -days 1 -subj /CN=test-ca && "
                      "openssl req -x509 " +
                      ec +
                      " -keyout other.key -out other.crt -days 1 -subj /CN=other-ca && "
                      "openssl req -new " +
                      ec +
                      " -keyout srv.key -out srv.csr -subj /CN=server && "
                      "printf 'subjectAltName=IP:127.0.0.1,DNS:api.test\\n' > san.ext && "
                      "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
                      "-out srv.crt -days 1 -extfile san.ext";
    cmd = "(" + cmd + ") >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) dir_ = d;
  }
  ~Certs() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

// One accepted connection of the test server: plain or TLS.
class ServerConn {
 public:
  ServerConn(int fd, mbedtls_ssl_config* conf) : fd_(fd) {
    if (!conf) return;
    ssl_ = std::make_unique<mbedtls_ssl_context>();
    mbedtls_ssl_init(ssl_.get());
    mbedtls_ssl_setup(ssl_.get(), conf);
    mbedtls_ssl_set_bio(ssl_.get(), &fd_, Send, Recv, nullptr);
  }
  ~ServerConn() {
    if (ssl_) mbedtls_ssl_free(ssl_.get());
    ::close(fd_);
  }
  bool Handshake() {
    if (!ssl_) return true;
    int rc;
    while ((rc = mbedtls_ssl_handshake(ssl_.get())) != 0) {
      if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) return false;
    }
    return true;
  }
  // Reads one request (headers and a Content-Length body). Empty at EOF.
  std::string ReadRequest() {
    for (;;) {
      size_t he = buf_.find("\r\n\r\n");
      if (he != std::string::npos) {
        size_t len = 0;
        size_t cl = buf_.find("Content-Length: ");
        if (cl != std::string::npos && cl < he) len = std::stoul(buf_.substr(cl + 16));
        if (buf_.size() >= he + 4 + len) {
          std::string req = buf_.substr(0, he + 4 + len);
          buf_.erase(0, he + 4 + len);
          return req;
        }
      }
      char tmp[4096];
      int n = Read(tmp, sizeof tmp);
      if (n <= 0) return "";
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }
  bool Write(std::string_view s) {
    while (!s.empty()) {
      int n = ssl_ ? mbedtls_ssl_write(ssl_.get(), reinterpret_cast<const unsigned char*>(s.data()),
                                       s.size())
                   : static_cast<int>(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL));
      if (n == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
      if (n <= 0) return false;
      s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

 private:
  int Read(char* b, size_t n) {
    if (!ssl_) return static_cast<int>(::recv(fd_, b, n, 0));
    for (;;) {
      int rc = mbedtls_ssl_read(ssl_.get(), reinterpret_cast<unsigned char*>(b), n);
      if (rc == MBEDTLS_ERR_SSL_WANT_READ) continue;
      return rc;
    }
  }
  static int Send(void* ctx, const unsigned char* b, size_t n) {
    ssize_t r = ::send(*static_cast<int*>(ctx), b, n, MSG_NOSIGNAL);
    return r < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : static_cast<int>(r);
  }
  static int Recv(void* ctx, unsigned char* b, size_t n) {
    ssize_t r = ::recv(*static_cast<int*>(ctx), b, n, 0);
    return r < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : static_cast<int>(r);
  }
  int fd_;
  std::unique_ptr<mbedtls_ssl_context> ssl_;
  std::string buf_;

 public:
  int fd() const { return fd_; }
};

// A server on 127.0.0.1 that runs `handler` for every accepted connection, on
// its own thread, and counts connections.
class TestServer {
 public:
  using Handler = std::function<void(ServerConn&)>;
  // `cert_dir`: serve TLS with srv.crt/srv.key from it; empty = plain TCP.
  explicit TestServer(Handler handler, const std::string& cert_dir = "")
      : handler_(std::move(handler)) {
    if (!cert_dir.empty()) SetUpTls(cert_dir);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_ = std::thread([this] { AcceptLoop(); });
  }
  ~TestServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    accept_.join();
    for (auto& t : conns_) t.join();
    if (tls_) {
      mbedtls_ssl_config_free(&conf_);
      mbedtls_pk_free(&key_);
      mbedtls_x509_crt_free(&cert_);
      mbedtls_ctr_drbg_free(&drbg_);
      mbedtls_entropy_free(&entropy_);
    }
  }
  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  std::string url() const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
  }

 private:
  void SetUpTls(const std::string& dir) {
    tls_ = true;
    mbedtls_entropy_init(&entropy_);
    mbedtls_ctr_drbg_init(&drbg_);
    mbedtls_x509_crt_init(&cert_);
    mbedtls_pk_init(&key_);
    mbedtls_ssl_config_init(&conf_);
    mbedtls_ctr_drbg_seed(&drbg_, mbedtls_entropy_func, &entropy_, nullptr, 0);
    mbedtls_x509_crt_parse_file(&cert_, (dir + "/srv.crt").c_str());
    mbedtls_pk_parse_keyfile(&key_, (dir + "/srv.key").c_str(), nullptr);
    mbedtls_ssl_config_defaults(&conf_, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                MBEDTLS_SSL_PRESET_DEFAULT);
    mbedtls_ssl_conf_rng(&conf_, mbedtls_ctr_drbg_random, &drbg_);
    mbedtls_ssl_conf_own_cert(&conf_, &cert_, &key_);
  }
  void AcceptLoop() {
    for (;;) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      if (stop_) {
        ::close(c);
        return;
      }
      accepted_++;
      conns_.emplace_back([this, c] {
        ServerConn conn(c, tls_ ? &conf_ : nullptr);
        if (conn.Handshake()) handler_(conn);
      });
    }
  }
  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread accept_;
  std::vector<std::thread> conns_;
  bool tls_ = false;
  mbedtls_entropy_context entropy_;
  mbedtls_ctr_drbg_context drbg_;
  mbedtls_x509_crt cert_;
  mbedtls_pk_context key_;
  mbedtls_ssl_config conf_;
};

std::string Ok(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

ClusterConfig Config(const std::string& url) {
  ClusterConfig c;
  c.server = url;
  c.token = "t0k3n";
  c.source = "test kubeconfig";
  return c;
}

std::unique_ptr<HttpTransport> MakeTransport(ClusterConfig cfg, HttpTransportOptions o = {}) {
  auto t = HttpTransport::Create(std::move(cfg), std::move(o));
  EXPECT_TRUE(t.ok()) << t.error();
  return t.ok() ? std::move(*t) : nullptr;
}

HttpRequest Get(const std::string& path) {
  HttpRequest r;
  r.path = path;
  return r;
}

TEST(HttpTransport, KeepAliveServesManyRequestsOnOneConnection) {
  std::mutex mu;
  std::vector<std::string> seen;
  TestServer server([&](ServerConn& c) {
    for (std::string req; !(req = c.ReadRequest()).empty();) {
      {
        std::lock_guard<std::mutex> l(mu);
        seen.push_back(req);
      }
      c.Write(Ok("{\"n\":1}"));
    }
  });
  auto t = MakeTransport(Config(server.url()));
  for (int i = 0; i < 5; ++i) {
    auto r = t->Do(Get("/api/v1/nodes/n" + std::to_string(i)));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "{\"n\":1}");
    EXPECT_EQ(r->content_type, "application/json");
  }
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(t->connections_opened(), 1);
  std::lock_guard<std::mutex> l(mu);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[3].rfind("GET /api/v1/nodes/n3 HTTP/1.1\r\nHost: 127.0.0.1:", 0), 0u) << seen[3];
  EXPECT_NE(seen[3].find("\r\nAuthorization: Bearer t0k3n\r\n"), std::string::npos) << seen[3];
  EXPECT_NE(seen[3].find("\r\nAccept-Encoding: gzip\r\n"), std::string::npos) << seen[3];
}

TEST(HttpTransport, BodyFramings) {
  struct Case {
    const char* name;
    std::string response;
    bool reusable;
  };
  const std::vector<Case> cases = {
      {"content-length", Ok("hello"), true},
      {"chunked",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n",
       true},
      {"close-delimited", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello", false},
  };
  for (const auto& c : cases) {
    TestServer server([&](ServerConn& conn) {
      for (std::string req; !(req = conn.ReadRequest()).empty();) {
        conn.Write(c.response);
        if (!c.reusable) return;  // closes
      }
    });
    auto t = MakeTransport(Config(server.url()));
    for (int i = 0; i < 3; ++i) {
      auto r = t->Do(Get("/x"));
      ASSERT_TRUE(r.ok()) << c.name << ": " << r.error();
      EXPECT_EQ(r->body, "hello") << c.name;
    }
    EXPECT_EQ(server.accepted(), c.reusable ? 1 : 3) << c.name;
  }
}

TEST(HttpTransport, PostSendsBodyAndContentType) {
  std::string got;
  TestServer server([&](ServerConn& c) {
    got = c.ReadRequest();
    c.Write("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
  });
  auto t = MakeTransport(Config(server.url()));
  HttpRequest req;
  req.method = "POST";
  req.path = "/apis/kilo.squat.ai/v1alpha1/peers";
  req.body = "{\"kind\":\"Peer\"}";
  req.content_type = "application/json";
  auto r = t->Do(req);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 201);
  EXPECT_NE(got.find("\r\nContent-Type: application/json\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("\r\nContent-Length: 15\r\n\r\n{\"kind\":\"Peer\"}"), std::string::npos)
      << got;
}

TEST(HttpTransport, StaleKeepAliveConnectionIsReplaced) {
  // The server answers one request per connection but does not say so (an
  // idle timeout on its side): the next request must go on a new connection.
  TestServer server([&](ServerConn& c) {
    if (!c.ReadRequest().empty()) c.Write(Ok("ok"));
  });
  auto t = MakeTransport(Config(server.url()));
  for (int i = 0; i < 3; ++i) {
    auto r = t->Do(Get("/x"));
    ASSERT_TRUE(r.ok()) << i << ": " << r.error();
    EXPECT_EQ(r->body, "ok");
    std::this_thread::sleep_for(20ms);  // lets the server's close arrive
  }
  EXPECT_EQ(server.accepted(), 3);
}

TEST(HttpTransport, StreamDeliversChunksAsTheyArrive) {
  TestServer server([&](ServerConn& c) {
    c.ReadRequest();
    c.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (const char* ev : {"{\"type\":\"ADDED\"}\n", "{\"type\":", "\"DELETED\"}\n"}) {
      std::string chunk = ev;
      char len[16];
      std::snprintf(len, sizeof len, "%zx\r\n", chunk.size());
      c.Write(len + chunk + "\r\n");
      std::this_thread::sleep_for(10ms);
    }
    c.Write("0\r\n\r\n");
  });
  auto t = MakeTransport(Config(server.url()));
  std::string got;
  auto r = t->Stream(Get("/api/v1/nodes?watch=1"), [&](std::string_view s) {
    got.append(s);
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(got, "{\"type\":\"ADDED\"}\n{\"type\":\"DELETED\"}\n");
}

TEST(HttpTransport, CancelWakesABlockedStreamPromptly) {
  std::atomic<bool> release{false};
  TestServer server([&](ServerConn& c) {
    c.ReadRequest();
    c.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    while (!release) std::this_thread::sleep_for(10ms);  // then silence
  });
  auto t = MakeTransport(Config(server.url()));
  CancelToken cancel;
  HttpRequest req = Get("/api/v1/nodes?watch=1");
  req.cancel = &cancel;
  std::atomic<bool> first{false};
  std::chrono::steady_clock::time_point cancelled_at;
  Result<HttpResponse> result = Result<HttpResponse>::Error("not run");
  std::thread th([&] {
    result = t->Stream(req, [&](std::string_view) {
      first = true;
      return true;
    });
  });
  while (!first) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(100ms);  // blocked in poll by now
  cancelled_at = std::chrono::steady_clock::now();
  cancel.Cancel();
  th.join();
  auto took = std::chrono::steady_clock::now() - cancelled_at;
  release = true;
  EXPECT_LT(took, 1s);
  EXPECT_LT(took, 300ms) << "the waker should cut the poll short";
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("cancelled"), std::string::npos) << result.error();
}

TEST(HttpTransport, RequestTimeout) {
  std::atomic<bool> release{false};
  TestServer server([&](ServerConn& c) {
    c.ReadRequest();
    while (!release) std::this_thread::sleep_for(10ms);
  });
  auto t = MakeTransport(Config(server.url()));
  HttpRequest req = Get("/slow");
  req.timeout = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto r = t->Do(req);
  release = true;
  ASSERT_FALSE(r.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_NE(r.error().find("GET http://127.0.0.1:"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("timed out"), std::string::npos) << r.error();
}

TEST(HttpTransport, ConnectionRefused) {
  // A port nobody listens on: bound, then closed.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  auto t = MakeTransport(Config("https://127.0.0.1:" + std::to_string(ntohs(a.sin_port))));
  auto r = t->Do(Get("/version"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("cannot connect to the API server https://127.0.0.1:"),
            std::string::npos)
      << r.error();
  EXPECT_NE(r.error().find("Connection refused"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("test kubeconfig"), std::string::npos) << r.error();
}

TEST(HttpTransport, UnauthorizedRefreshesTheTokenFileOnce) {
  Certs certs;  // only for a temporary directory
  if (certs.dir().empty()) GTEST_SKIP() << "openssl CLI not available";
  const std::string token_file = certs.dir() + "/token";
  std::ofstream(token_file) << "old";
  std::atomic<int> requests{0};
  TestServer server([&](ServerConn& c) {
    for (std::string req; !(req = c.ReadRequest()).empty();) {
      requests++;
      if (req.find("Bearer rotated-token") != std::string::npos) {
        c.Write(Ok("{}"));
      } else {
        // The kubelet rotates the projected token meanwhile.
        std::ofstream(token_file) << "rotated-token";
        c.Write("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
      }
    }
  });
  ClusterConfig cfg = Config(server.url());
  cfg.token.clear();
  cfg.token_file = token_file;
  auto t = MakeTransport(cfg);
  auto r = t->Do(Get("/api/v1/nodes"));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(requests, 2);
}

TEST(HttpTransport, RetriesServiceUnavailableWithRetryAfter) {
  std::atomic<int> requests{0};
  TestServer server([&](ServerConn& c) {
    for (std::string req; !(req = c.ReadRequest()).empty();) {
      if (++requests < 3)
        c.Write("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 0\r\n\r\n");
      else
        c.Write(Ok("{}"));
    }
  });
  HttpTransportOptions o;
  std::vector<std::chrono::milliseconds> slept;
  o.sleep = [&](std::chrono::milliseconds d) { slept.push_back(d); };
  auto t = MakeTransport(Config(server.url()), o);
  auto r = t->Do(Get("/x"));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(slept, (std::vector<std::chrono::milliseconds>{2s, 2s}));
}

class HttpTransportTls : public ::testing::Test {
 protected:
  void SetUp() override {
    if (certs_.dir().empty()) GTEST_SKIP() << "openssl CLI not available: no test certificates";
  }
  ClusterConfig TlsConfig(const TestServer& s) {
    ClusterConfig c = Config(s.url());
    c.ca_file = certs_.dir() + "/ca.crt";
    return c;
  }
  static void Serve(ServerConn& c) {
    for (std::string req; !(req = c.ReadRequest()).empty();) c.Write(Ok("{\"tls\":true}"));
  }
  Certs certs_;
};

TEST_F(HttpTransportTls, VerifiedByIpAddressAndReused) {
  TestServer server(Serve, certs_.dir());
  auto t = MakeTransport(TlsConfig(server));
  for (int i = 0; i < 3; ++i) {
    auto r = t->Do(Get("/version"));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->body, "{\"tls\":true}");
  }
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(HttpTransportTls, CaDataInline) {
  TestServer server(Serve, certs_.dir());
  ClusterConfig cfg = TlsConfig(server);
  cfg.ca_file.clear();
  cfg.ca_data = ReadFile(certs_.dir() + "/ca.crt");
  auto r = MakeTransport(cfg)->Do(Get("/version"));
  ASSERT_TRUE(r.ok()) << r.error();
}

TEST_F(HttpTransportTls, WrongCaIsAVerificationError) {
  TestServer server(Serve, certs_.dir());
  ClusterConfig cfg = TlsConfig(server);
  cfg.ca_file = certs_.dir() + "/other.crt";
  auto r = MakeTransport(cfg)->Do(Get("/version"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("TLS verification of the API server https://127.0.0.1:"),
            std::string::npos)
      << r.error();
  EXPECT_NE(r.error().find("certificate-authority of test kubeconfig"), std::string::npos)
      << r.error();
}

TEST_F(HttpTransportTls, ServerNameIsVerified) {
  TestServer server(Serve, certs_.dir());
  ClusterConfig cfg = TlsConfig(server);
  cfg.tls_server_name = "api.test";  // in the certificate: verified, connection to 127.0.0.1
  auto r = MakeTransport(cfg)->Do(Get("/version"));
  ASSERT_TRUE(r.ok()) << r.error();
  cfg.tls_server_name = "not-the-server.example";
  r = MakeTransport(cfg)->Do(Get("/version"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("TLS verification"), std::string::npos) << r.error();
  // An IP address the certificate does not name.
  cfg.tls_server_name = "127.0.0.2";
  r = MakeTransport(cfg)->Do(Get("/version"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("TLS verification"), std::string::npos) << r.error();
}

TEST_F(HttpTransportTls, InsecureSkipVerifyAcceptsAnyCertificate) {
  TestServer server(Serve, certs_.dir());
  ClusterConfig cfg = Config(server.url());
  cfg.insecure_skip_tls_verify = true;
  auto r = MakeTransport(cfg)->Do(Get("/version"));
  ASSERT_TRUE(r.ok()) << r.error();
}

TEST_F(HttpTransportTls, PlainHttpServerIsAHandshakeError) {
  TestServer server(
      [](ServerConn& c) { c.Write("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"); });
  ClusterConfig cfg = Config("https://127.0.0.1:" + std::to_string(server.port()));
  cfg.ca_file = certs_.dir() + "/ca.crt";
  auto r = MakeTransport(cfg)->Do(Get("/version"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("TLS handshake with the API server"), std::string::npos) << r.error();
}

TEST_F(HttpTransportTls, UnreadableCaFileIsNamed) {
  ClusterConfig cfg = Config("https://127.0.0.1:1");
  cfg.ca_file = certs_.dir() + "/missing.crt";
  auto r = MakeTransport(cfg)->Do(Get("/version"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("TLS verification of the API server"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("missing.crt"), std::string::npos) << r.error();
}

// ChaCha20-Poly1305 first: a Go server (kube-apiserver) then chooses it, and
// it is mbedTLS's cheaper AEAD (see http_transport.cc); then AES-GCM in Go's
// order; then every other default of mbedTLS, once.
TEST(OfferedCipherSuites, ChaChaThenAesGcmThenTheOtherDefaults) {
  const std::vector<std::string> offered = OfferedCipherSuites();
  ASSERT_GE(offered.size(), 6u);
  EXPECT_EQ(std::vector<std::string>(offered.begin(), offered.begin() + 6),
            (std::vector<std::string>{
                "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256",
                "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256",
                "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256",
                "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256",
                "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384",
                "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384",
            }));
  std::vector<std::string> defaults;
  for (const int* id = mbedtls_ssl_list_ciphersuites(); *id != 0; ++id)
    defaults.emplace_back(mbedtls_ssl_get_ciphersuite_name(*id));
  std::vector<std::string> a = offered, b = defaults;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  EXPECT_EQ(a, b);
}

TEST(NoProxyMatches, Table) {
  struct Case {
    const char* no_proxy;
    const char* host;
    bool want;
  };
  const std::vector<Case> cases = {
      {"", "10.96.0.1", false},
      {"", "127.0.0.1", true},  // loopback never goes through a proxy (Go)
      {"", "::1", true},
      {"", "localhost", true},
      {"*", "api.example.com", true},
      {"10.0.0.0/8", "10.96.0.1", true},
      {"10.0.0.0/8", "192.168.1.1", false},
      {"fd00::/8", "fd00::1", true},
      {"10.96.0.1", "10.96.0.1", true},
      {"10.96.0.1:443", "10.96.0.1", true},
      {"example.com", "example.com", true},
      {"example.com", "api.example.com", true},
      {".example.com", "api.example.com", true},
      {".example.com", "example.com", true},
      {"example.com", "notexample.com", false},
      {" foo.test , Example.COM ", "api.example.com", true},
      {"example.com", "10.0.0.1", false},
  };
  for (const auto& c : cases)
    EXPECT_EQ(NoProxyMatches(c.no_proxy, c.host), c.want) << c.no_proxy << " / " << c.host;
}

// Relays bytes between two sockets until one side closes.
void Relay(int a, int b) {
  char buf[16384];
  for (;;) {
    pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    if (::poll(p, 2, 5000) <= 0) return;
    for (int i = 0; i < 2; ++i) {
      if (!p[i].revents) continue;
      ssize_t n = ::recv(p[i].fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      if (::send(p[1 - i].fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) return;
    }
  }
}

TEST_F(HttpTransportTls, ThroughAConnectProxy) {
  TestServer api(Serve, certs_.dir());
  std::mutex mu;
  std::string connect_req;
  // A CONNECT proxy that sends every tunnel to the API server on loopback.
  TestServer proxy([&](ServerConn& c) {
    std::string req = c.ReadRequest();
    {
      std::lock_guard<std::mutex> l(mu);
      connect_req = req;
    }
    int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(api.port()));
    if (::connect(up, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    c.Write("HTTP/1.1 200 Connection established\r\n\r\n");
    Relay(c.fd(), up);
    ::close(up);
  });
  // A name only the proxy knows (the certificate names api.test): the
  // transport must not resolve it.
  ClusterConfig cfg = TlsConfig(api);
  cfg.server = "https://api.test:" + std::to_string(api.port());
  HttpTransportOptions o;
  o.https_proxy = "http://u%40x:p@127.0.0.1:" + std::to_string(proxy.port());
  o.no_proxy = "10.0.0.0/8,.cluster.local";
  auto t = MakeTransport(cfg, o);
  for (int i = 0; i < 2; ++i) {
    auto r = t->Do(Get("/version"));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->body, "{\"tls\":true}");
  }
  EXPECT_EQ(proxy.accepted(), 1);
  std::lock_guard<std::mutex> l(mu);
  const std::string target = "api.test:" + std::to_string(api.port());
  EXPECT_EQ(connect_req.rfind("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n", 0), 0u)
      << connect_req;
  // base64("u@x:p")
  EXPECT_NE(connect_req.find("\r\nProxy-Authorization: Basic dUB4OnA=\r\n"), std::string::npos)
      << connect_req;
}

TEST_F(HttpTransportTls, ProxyRefusalIsNamed) {
  TestServer proxy([](ServerConn& c) {
    c.ReadRequest();
    c.Write("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
  });
  ClusterConfig cfg = Config("https://api.test:6443");
  cfg.ca_file = certs_.dir() + "/ca.crt";
  HttpTransportOptions o;
  o.https_proxy = "127.0.0.1:" + std::to_string(proxy.port());
  o.no_proxy = "";
  auto r = MakeTransport(cfg, o)->Do(Get("/version"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("cannot connect to the API server https://api.test:6443: CONNECT "
                           "api.test:6443 through the proxy http://127.0.0.1:"),
            std::string::npos)
      << r.error();
  EXPECT_NE(r.error().find("407"), std::string::npos) << r.error();
  // NO_PROXY exempts the host: dialled directly (and not resolvable here).
  o.no_proxy = "api.test";
  r = MakeTransport(cfg, o)->Do(Get("/version"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().find("proxy"), std::string::npos) << r.error();
  EXPECT_EQ(proxy.accepted(), 1);
}

TEST(HttpTransport, UnsupportedProxySchemeIsAnError) {
  HttpTransportOptions o;
  o.https_proxy = "socks5://127.0.0.1:1080";
  o.no_proxy = "";
  auto t = HttpTransport::Create(Config("https://10.96.0.1:443"), o);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().find("HTTPS_PROXY socks5://127.0.0.1:1080: only http:// proxies"),
            std::string::npos)
      << t.error();
}

}  // namespace
}  // namespace kilo::k8s
