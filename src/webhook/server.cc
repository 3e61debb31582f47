#include "webhook/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <set>
#include <thread>

#include "core/thread_annotations.h"
#include "webhook/validate.h"

namespace kilo::webhook {
namespace {

constexpr size_t kMaxHeaderBytes = 16 * 1024;

std::string MbedError(int rc) {
  char buf[160];
  mbedtls_strerror(rc, buf, sizeof buf);
  return buf;
}

Status CheckReadable(const char* flag, const std::string& path) {
  if (path.empty()) return Status::Error(std::string(flag) + " is required");
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return Status::Error(std::string(flag) + " " + path + ": " + std::strerror(errno));
  std::fclose(f);
  return Status::Ok();
}

// The server's TLS configuration: certificate chain, key, and the random
// generator, shared by the connection threads (mbedTLS is built with
// MBEDTLS_THREADING_C).
struct ServerTls {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_x509_crt chain;
  mbedtls_pk_context key;
  mbedtls_ssl_config conf;
  ServerTls() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_x509_crt_init(&chain);
    mbedtls_pk_init(&key);
    mbedtls_ssl_config_init(&conf);
  }
  ~ServerTls() {
    mbedtls_ssl_config_free(&conf);
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&chain);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
  ServerTls(const ServerTls&) = delete;
  ServerTls& operator=(const ServerTls&) = delete;
};

// Loads the certificate chain and key. Errors name the flag.
Status LoadCertificate(ServerTls& tls, const std::string& cert_file, const std::string& key_file) {
  // A positive result counts certificates that failed to parse.
  int rc = mbedtls_x509_crt_parse_file(&tls.chain, cert_file.c_str());
  if (rc != 0 || tls.chain.version == 0) {
    std::string why = rc < 0   ? MbedError(rc)
                      : rc > 0 ? std::to_string(rc) + " certificate(s) could not be parsed"
                               : "no certificate";
    return Status::Error("--cert-file " + cert_file + ": not a PEM certificate (" + why + ")");
  }
  rc = mbedtls_pk_parse_keyfile(&tls.key, key_file.c_str(), nullptr);
  if (rc != 0)
    return Status::Error("--key-file " + key_file + ": not a PEM private key (" + MbedError(rc) +
                         ")");
  rc = mbedtls_pk_check_pair(&tls.chain.pk, &tls.key);
  if (rc != 0)
    return Status::Error("--key-file " + key_file + " does not match --cert-file " + cert_file +
                         " (" + MbedError(rc) + ")");
  return Status::Ok();
}

Result<std::unique_ptr<ServerTls>> NewServerContext(const std::string& cert_file,
                                                    const std::string& key_file) {
  using R = Result<std::unique_ptr<ServerTls>>;
  if (Status s = CheckReadable("--cert-file", cert_file); !s.ok()) return s;
  if (Status s = CheckReadable("--key-file", key_file); !s.ok()) return s;
  auto tls = std::make_unique<ServerTls>();
  if (Status s = LoadCertificate(*tls, cert_file, key_file); !s.ok()) return s;
  static const char kPers[] = "kilo-webhook";
  int rc = mbedtls_ctr_drbg_seed(&tls->drbg, mbedtls_entropy_func, &tls->entropy,
                                 reinterpret_cast<const unsigned char*>(kPers), sizeof kPers - 1);
  if (rc == 0)
    rc = mbedtls_ssl_config_defaults(&tls->conf, MBEDTLS_SSL_IS_SERVER,
                                     MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
  if (rc == 0) rc = mbedtls_ssl_conf_own_cert(&tls->conf, &tls->chain, &tls->key);
  if (rc != 0) return R::Error("TLS setup failed: " + MbedError(rc));
  mbedtls_ssl_conf_rng(&tls->conf, mbedtls_ctr_drbg_random, &tls->drbg);
  // The API server speaks TLS 1.2+; refuse older protocols.
  mbedtls_ssl_conf_min_version(&tls->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                               MBEDTLS_SSL_MINOR_VERSION_3);
  return R(std::move(tls));
}

void StderrLog(std::string_view line) {
  std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
}

// logfmt-quoted value.
std::string Q(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    default:
      return "Internal Server Error";
  }
}

HttpReply TextReply(int status, std::string body) {
  HttpReply r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body) + "\n";
  return r;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// One TLS connection. Blocking I/O bounded by socket timeouts.
class Conn {
 public:
  Conn(int fd, const mbedtls_ssl_config* conf) : fd_(fd) {
    mbedtls_ssl_init(&ssl_);
    setup_rc_ = mbedtls_ssl_setup(&ssl_, conf);
    mbedtls_ssl_set_bio(&ssl_, &fd_, Send, Recv, nullptr);
  }
  ~Conn() { mbedtls_ssl_free(&ssl_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs the TLS handshake. Returns 0 or an mbedTLS error.
  int Handshake() {
    if (setup_rc_ != 0) return setup_rc_;
    int rc;
    while ((rc = mbedtls_ssl_handshake(&ssl_)) == MBEDTLS_ERR_SSL_WANT_READ ||
           rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
    }
    return rc;
  }
  void Close() { mbedtls_ssl_close_notify(&ssl_); }

  // Reads more bytes into buf_. false on EOF, error or timeout.
  bool Fill() {
    unsigned char tmp[16384];
    int n;
    while ((n = mbedtls_ssl_read(&ssl_, tmp, sizeof tmp)) == MBEDTLS_ERR_SSL_WANT_READ ||
           n == MBEDTLS_ERR_SSL_WANT_WRITE) {
    }
    if (n <= 0) return false;
    buf_.append(reinterpret_cast<char*>(tmp), static_cast<size_t>(n));
    return true;
  }
  bool Write(std::string_view s) {
    while (!s.empty()) {
      int n = mbedtls_ssl_write(&ssl_, reinterpret_cast<const unsigned char*>(s.data()), s.size());
      if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
      if (n <= 0) return false;
      s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  std::string& buf() { return buf_; }

 private:
  // The socket is blocking with SO_RCVTIMEO/SO_SNDTIMEO: EAGAIN is a timeout.
  static int Send(void* ctx, const unsigned char* b, size_t n) {
    ssize_t r = ::send(*static_cast<int*>(ctx), b, n, MSG_NOSIGNAL);
    if (r >= 0) return static_cast<int>(r);
    return errno == EINTR ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_NET_SEND_FAILED;
  }
  static int Recv(void* ctx, unsigned char* b, size_t n) {
    ssize_t r = ::recv(*static_cast<int*>(ctx), b, n, 0);
    if (r >= 0) return static_cast<int>(r);
    return errno == EINTR ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_NET_RECV_FAILED;
  }

  int fd_;
  int setup_rc_ = 0;
  mbedtls_ssl_context ssl_;
  std::string buf_;
};

bool SendReply(Conn& c, const HttpReply& r, bool close, bool head_only = false) {
  std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " + Reason(r.status) +
                     "\r\nContent-Type: " + r.content_type +
                     "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\n";
  for (const auto& [k, v] : r.headers) head += k + ": " + v + "\r\n";
  head += close ? "Connection: close\r\n\r\n" : "\r\n";
  return c.Write(head_only ? head : head + r.body);
}

}  // namespace

struct WebhookServer::Impl {
  ServerOptions opts;
  std::unique_ptr<ServerTls> tls;
  int listen_fd = -1;
  int wake[2] = {-1, -1};  // self-pipe: stops the accept loop
  std::thread acceptor;
  Mutex mu;
  CondVar idle;
  std::set<int> conns GUARDED_BY(mu);  // open connection sockets
  bool stopping GUARDED_BY(mu) = false;

  ~Impl() {
    if (acceptor.joinable()) {
      char b = 1;
      (void)!write(wake[1], &b, 1);
      acceptor.join();
    }
    {
      MutexLock lock(&mu);
      stopping = true;
      // Unblock reads of keep-alive connections; their threads then exit.
      for (int fd : conns) shutdown(fd, SHUT_RDWR);
      while (!conns.empty()) idle.Wait(&mu);
    }
    if (listen_fd >= 0) close(listen_fd);
    for (int fd : wake)
      if (fd >= 0) close(fd);
  }

  void Log(std::string_view line) { opts.log(line); }

  void AcceptLoop() {
    for (;;) {
      pollfd p[2] = {{listen_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
      if (poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        Log("level=error msg=" + Q("poll failed") + " err=" + Q(std::strerror(errno)));
        return;
      }
      if (p[1].revents) return;
      if (!(p[0].revents & POLLIN)) continue;
      int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;  // ECONNABORTED, EMFILE...: keep serving
      {
        MutexLock lock(&mu);
        if (stopping || conns.size() >= static_cast<size_t>(opts.max_connections)) {
          close(fd);
          continue;
        }
        conns.insert(fd);
      }
      std::thread([this, fd] { Serve(fd); }).detach();
    }
  }

  void Serve(int fd) {
    timeval tv{opts.io_timeout_ms / 1000, (opts.io_timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    {
      Conn c(fd, &tls->conf);
      if (int rc = c.Handshake(); rc == 0) {
        while (ServeOne(c)) {
        }
        c.Close();
      } else {
        Log("level=debug msg=" + Q("TLS handshake failed") + " err=" + Q(MbedError(rc)));
      }
    }
    // Erase and close under the lock: once closed, accept() may hand out the
    // same number for a new connection, which must not be erased by us.
    MutexLock lock(&mu);
    conns.erase(fd);
    close(fd);
    if (conns.empty()) idle.NotifyAll();
  }

  // Serves one request. Returns true to keep the connection open.
  bool ServeOne(Conn& c) {
    std::string& buf = c.buf();
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (buf.size() > kMaxHeaderBytes) {
        SendReply(c, TextReply(431, "request headers too large"), true);
        return false;
      }
      if (!c.Fill()) return false;  // closed, idle timeout, or TLS error
    }
    if (end > kMaxHeaderBytes) {
      SendReply(c, TextReply(431, "request headers too large"), true);
      return false;
    }
    std::string_view head(buf.data(), end);
    size_t eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1 ||
        line.substr(sp2 + 1).rfind("HTTP/1.", 0) != 0) {
      SendReply(c, TextReply(400, "malformed request line"), true);
      return false;
    }
    std::string method(line.substr(0, sp1));
    std::string target(line.substr(sp1 + 1, sp2 - sp1 - 1));
    bool http10 = line.substr(sp2 + 1) == "HTTP/1.0";
    std::string path = target.substr(0, target.find('?'));

    std::string content_type, expect;
    bool has_length = false, chunked = false, close = http10;
    uint64_t length = 0;
    std::string_view rest = eol == std::string_view::npos ? "" : head.substr(eol + 2);
    while (!rest.empty()) {
      size_t nl = rest.find("\r\n");
      std::string_view h = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? "" : rest.substr(nl + 2);
      size_t colon = h.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name = Lower(Trim(h.substr(0, colon)));
      std::string_view value = Trim(h.substr(colon + 1));
      if (name == "content-type") {
        content_type = value;
      } else if (name == "content-length") {
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
        if (value.empty() || ec != std::errc() || p != value.data() + value.size()) {
          SendReply(c, TextReply(400, "invalid Content-Length"), true);
          return false;
        }
        has_length = true;
      } else if (name == "transfer-encoding") {
        chunked = true;
      } else if (name == "connection") {
        std::string v = Lower(value);
        if (v == "close") close = true;
        if (v == "keep-alive" && http10) close = false;
      } else if (name == "expect") {
        expect = Lower(value);
      }
    }
    buf.erase(0, end + 4);

    if (chunked) {
      // The API server sends a Content-Length; a chunked body we would have
      // to decode under the size limit is not worth the code.
      SendReply(c, TextReply(411, "chunked bodies are not supported; send Content-Length"), true);
      return false;
    }
    if (length > kMaxBodyBytes) {
      // Refused unread: the connection cannot be reused.
      SendReply(
          c, TextReply(413, "request body larger than " + std::to_string(kMaxBodyBytes) + " bytes"),
          true);
      Log("level=info msg=" + Q("request refused") + " method=" + Q(method) + " path=" + Q(path) +
          " status=413");
      return false;
    }
    if (has_length && length > 0 && expect == "100-continue" && buf.size() < length) {
      if (!c.Write("HTTP/1.1 100 Continue\r\n\r\n")) return false;
    }
    while (buf.size() < length) {
      if (!c.Fill()) return false;
    }
    std::string body = buf.substr(0, length);
    buf.erase(0, length);

    HttpReply r = HandleRequest(method, path, content_type, body);
    if (!SendReply(c, r, close, method == "HEAD")) return false;
    if (r.status != 200) {
      Log("level=info msg=" + Q("request refused") + " method=" + Q(method) + " path=" + Q(path) +
          " status=" + std::to_string(r.status));
    } else if (path != "/healthz" && r.body.find("\"allowed\":false") != std::string::npos) {
      Log("level=info msg=" + Q("Peer denied") + " response=" + Q(r.body));
    }
    return !close;
  }
};

Status CheckCertificate(const std::string& cert_file, const std::string& key_file) {
  auto ctx = NewServerContext(cert_file, key_file);
  return ctx.ok() ? Status::Ok() : ctx.status();
}

Result<ListenAddress> ParseListen(std::string_view listen) {
  auto bad = [&](std::string why) {
    return Result<ListenAddress>::Error("--listen " + std::string(listen) + ": " + why +
                                        " (want [host]:port, e.g. :8443 or 127.0.0.1:8443)");
  };
  size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  std::string_view host = listen.substr(0, colon), port = listen.substr(colon + 1);
  unsigned v = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || v > 65535)
    return bad("invalid port");
  if (!host.empty() && host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return bad("unterminated IPv6 address");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos || host.find(']') != std::string_view::npos) {
    return bad("IPv6 addresses must be in brackets");
  }
  return ListenAddress{std::string(host), static_cast<uint16_t>(v)};
}

namespace {

// Binds and listens. An empty host listens on every address: IPv6 with
// IPV6_V6ONLY off (dual stack, like Go), else IPv4 where IPv6 is missing.
Result<int> Listen(const ListenAddress& a, const std::string& flag) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(a.port);
  int rc = getaddrinfo(a.host.empty() ? nullptr : a.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return Result<int>::Error("--listen " + flag + ": " + gai_strerror(rc));
  std::vector<addrinfo*> order;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) order.push_back(ai);
  // Wildcard: IPv6 first, so that the dual-stack socket wins.
  std::stable_sort(order.begin(), order.end(), [](addrinfo* x, addrinfo* y) {
    return x->ai_family == AF_INET6 && y->ai_family != AF_INET6;
  });
  std::string err = "no address";
  int fd = -1;
  for (addrinfo* ai : order) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      err = std::strerror(errno);
      continue;
    }
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6 && a.host.empty())
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0) break;
    err = std::strerror(errno);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return Result<int>::Error("cannot listen on " + flag + ": " + err);
  return fd;
}

int BoundPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

}  // namespace

Result<std::unique_ptr<WebhookServer>> WebhookServer::Start(ServerOptions opts) {
  using R = Result<std::unique_ptr<WebhookServer>>;
  if (!opts.log) opts.log = StderrLog;
  if (opts.max_connections <= 0) opts.max_connections = 64;
  if (opts.io_timeout_ms <= 0) opts.io_timeout_ms = 10000;
  auto addr = ParseListen(opts.listen);
  if (!addr.ok()) return R(addr.status());
  auto ctx = NewServerContext(opts.cert_file, opts.key_file);
  if (!ctx.ok()) return R(ctx.status());
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<WebhookServer> s(new WebhookServer());
  s->impl_ = std::make_unique<Impl>();
  Impl& impl = *s->impl_;
  impl.tls = std::move(*ctx);
  impl.opts = std::move(opts);
  auto fd = Listen(*addr, impl.opts.listen);
  if (!fd.ok()) return R(fd.status());
  impl.listen_fd = *fd;
  if (pipe2(impl.wake, O_CLOEXEC) != 0)
    return R::Error(std::string("pipe: ") + std::strerror(errno));
  s->port_ = BoundPort(impl.listen_fd);
  impl.acceptor = std::thread([&impl] { impl.AcceptLoop(); });
  return R(std::move(s));
}

WebhookServer::~WebhookServer() = default;

int RunWebhook(int argc, char** argv) {
  CLI::App app{"kg webhook: HTTPS validating admission webhook that rejects invalid Kilo Peers",
               "webhook"};
  ServerOptions opts;
  std::string log_level = "info";
  app.add_option("--cert-file", opts.cert_file, "PEM certificate (chain) for TLS")->required();
  app.add_option("--key-file", opts.key_file, "PEM private key for TLS")->required();
  app.add_option("--listen", opts.listen, "Address to serve HTTPS on")->capture_default_str();
  app.add_option("--log-level", log_level, "Log level: all, debug, info, warn, error, none")
      ->check(CLI::IsMember({"all", "debug", "info", "warn", "error", "none"}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  int min = log_level == "all" || log_level == "debug" ? 0
            : log_level == "info"                      ? 1
            : log_level == "warn"                      ? 2
            : log_level == "error"                     ? 3
                                                       : 4;
  opts.log = [min](std::string_view line) {
    int lvl = line.rfind("level=debug", 0) == 0  ? 0
              : line.rfind("level=info", 0) == 0 ? 1
              : line.rfind("level=warn", 0) == 0 ? 2
                                                 : 3;
    if (lvl < min) return;
    char ts[32];
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    std::fprintf(stderr, "ts=%s %.*s\n", ts, static_cast<int>(line.size()), line.data());
  };

  // Block the stop signals before any thread starts (threads inherit the
  // mask), so that sigwait below is the only place they are delivered.
  sigset_t stop, old;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, &old);

  auto server = WebhookServer::Start(opts);
  if (!server.ok()) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    std::fprintf(stderr, "kg webhook: %s\n", server.error().c_str());
    return 1;
  }
  opts.log("level=info msg=" + Q("listening") + " addr=" + Q(opts.listen) +
           " port=" + std::to_string((*server)->port()) + " paths=" + Q("/validate,/,/healthz"));
  int sig = 0;
  sigwait(&stop, &sig);
  opts.log("level=info msg=" + Q("shutting down") + " signal=" + Q(strsignal(sig)));
  server->reset();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return 0;
}

}  // namespace kilo::webhook
