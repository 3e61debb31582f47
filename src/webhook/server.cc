#include "webhook/server.h"

#include <civetweb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>

#include "webhook/validate.h"

namespace kilo::webhook {
namespace {

constexpr int kMgFeaturesSsl = 0x2;
constexpr int kMgFeaturesIpv6 = 0x8;

// Drains OpenSSL's error queue into one message ("" when empty).
std::string SslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

Status CheckReadable(const char* flag, const std::string& path) {
  if (path.empty()) return Status::Error(std::string(flag) + " is required");
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return Status::Error(std::string(flag) + " " + path + ": " + std::strerror(errno));
  std::fclose(f);
  return Status::Ok();
}

// Loads the certificate chain and key into `ctx`. Errors name the flag.
Status LoadCertificate(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file) {
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1)
    return Status::Error("--cert-file " + cert_file + ": not a PEM certificate (" + SslErrors() +
                         ")");
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return Status::Error("--key-file " + key_file + ": not a PEM private key (" + SslErrors() +
                         ")");
  if (SSL_CTX_check_private_key(ctx) != 1)
    return Status::Error("--key-file " + key_file + " does not match --cert-file " + cert_file +
                         " (" + SslErrors() + ")");
  // The API server speaks TLS 1.2+; refuse older protocols.
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  return Status::Ok();
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

// Collects civetweb's own error messages so that a failed start can say why.
struct StartLog {
  std::mutex mu;
  std::string text;
};
StartLog* g_start_log = nullptr;  // only set while mg_start runs

int CivetLog(const mg_connection*, const char* message) {
  if (StartLog* l = g_start_log) {
    std::lock_guard<std::mutex> lock(l->mu);
    if (!l->text.empty()) l->text += "; ";
    l->text += message;
  }
  return 1;  // don't let civetweb print it
}

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    default: return "Internal Server Error";
  }
}

void Send(mg_connection* c, const HttpReply& r, bool close) {
  // Headers written by hand: mg_response_header_* would decide keep-alive by
  // itself, but we must close after a body we refused to read.
  std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " + Reason(r.status) +
                     "\r\nContent-Type: " + r.content_type +
                     "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\n";
  for (const auto& [k, v] : r.headers) head += k + ": " + v + "\r\n";
  if (close) head += "Connection: close\r\n";
  head += "\r\n";
  mg_write(c, head.data(), head.size());
  mg_write(c, r.body.data(), r.body.size());
}

}  // namespace

Status CheckCertificate(const std::string& cert_file, const std::string& key_file) {
  if (Status s = CheckReadable("--cert-file", cert_file); !s.ok()) return s;
  if (Status s = CheckReadable("--key-file", key_file); !s.ok()) return s;
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return Status::Error("TLS setup failed: " + SslErrors());
  Status s = LoadCertificate(ctx, cert_file, key_file);
  SSL_CTX_free(ctx);
  return s;
}

Result<std::string> ListenToPorts(std::string_view listen) {
  auto bad = [&](std::string why) {
    return Result<std::string>::Error("--listen " + std::string(listen) + ": " + why +
                                      " (want [host]:port, e.g. :8443 or 127.0.0.1:8443)");
  };
  size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  std::string_view host = listen.substr(0, colon), port = listen.substr(colon + 1);
  unsigned v = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || v > 65535)
    return bad("invalid port");
  if (host.empty()) {
    // Go's ":8443" listens on every address, IPv4 and IPv6 ("+" in civetweb).
    bool v6 = mg_check_feature(kMgFeaturesIpv6) != 0;
    return (v6 ? "+" : "") + std::to_string(v) + "s";
  }
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return bad("unterminated IPv6 address");
  } else if (host.find(':') != std::string_view::npos) {
    return bad("IPv6 addresses must be in brackets");
  }
  return std::string(host) + ":" + std::to_string(v) + "s";
}

Result<std::unique_ptr<WebhookServer>> WebhookServer::Start(ServerOptions opts) {
  using R = Result<std::unique_ptr<WebhookServer>>;
  if (!opts.log) opts.log = StderrLog;
  if (Status s = CheckCertificate(opts.cert_file, opts.key_file); !s.ok()) return R(s);
  auto ports = ListenToPorts(opts.listen);
  if (!ports.ok()) return R(ports.status());

  static std::once_flag init;
  std::call_once(init, [] { mg_init_library(kMgFeaturesSsl); });
  if (!mg_check_feature(kMgFeaturesSsl))
    return R::Error("TLS is not available: civetweb was built without SSL support");

  std::unique_ptr<WebhookServer> s(new WebhookServer());
  s->opts_ = std::move(opts);
  std::string threads = std::to_string(s->opts_.threads > 0 ? s->opts_.threads : 8);
  const char* options[] = {"listening_ports", ports->c_str(),
                           "num_threads", threads.c_str(),
                           "request_timeout_ms", "10000",
                           "enable_keep_alive", "yes",
                           "keep_alive_timeout_ms", "30000",
                           nullptr};
  mg_callbacks cb{};
  cb.init_ssl = &WebhookServer::InitSsl;
  cb.log_message = &CivetLog;

  static std::mutex start_mu;  // g_start_log is process-wide
  StartLog log;
  {
    std::lock_guard<std::mutex> lock(start_mu);
    g_start_log = &log;
    s->ctx_ = mg_start(&cb, s.get(), options);
    g_start_log = nullptr;
  }
  if (!s->ctx_) {
    std::string why = log.text.empty() ? "address in use or not a local IP address" : log.text;
    // civetweb loads OpenSSL with dlopen("libssl.so"): say so when that fails.
    if (why.find("libssl") != std::string::npos || why.find("libcrypto") != std::string::npos)
      why += " (civetweb loads OpenSSL at run time: install libssl-dev or link libssl.so)";
    return R::Error("cannot serve HTTPS on " + s->opts_.listen + ": " + why);
  }
  mg_set_request_handler(s->ctx_, "/", &WebhookServer::Handle, s.get());
  mg_server_port sp[4];
  int n = mg_get_server_ports(s->ctx_, 4, sp);
  if (n > 0) s->port_ = sp[0].port;
  return R(std::move(s));
}

WebhookServer::~WebhookServer() {
  if (ctx_) mg_stop(ctx_);
}

int WebhookServer::InitSsl(void* ssl_ctx, void* self_ptr) {
  auto* self = static_cast<WebhookServer*>(self_ptr);
  Status s = LoadCertificate(static_cast<SSL_CTX*>(ssl_ctx), self->opts_.cert_file,
                             self->opts_.key_file);
  if (!s.ok()) {
    self->opts_.log("level=error msg=" + Q("TLS setup failed") + " err=" + Q(s.message()));
    return -1;
  }
  return 1;  // certificate set up here; civetweb must not look for its own
}

int WebhookServer::Handle(mg_connection* c, void* self_ptr) {
  auto* self = static_cast<WebhookServer*>(self_ptr);
  const mg_request_info* ri = mg_get_request_info(c);
  std::string_view method = ri->request_method ? ri->request_method : "";
  std::string_view path = ri->local_uri ? ri->local_uri : "";
  const char* ct = mg_get_header(c, "Content-Type");
  std::string body;
  bool too_large = ri->content_length > static_cast<long long>(kMaxBodyBytes);
  if (!too_large && method == "POST") {
    // content_length is -1 for chunked bodies: read until the limit either way.
    char buf[16384];
    while (body.size() <= kMaxBodyBytes) {
      int n = mg_read(c, buf, sizeof buf);
      if (n <= 0) break;
      body.append(buf, static_cast<size_t>(n));
    }
    too_large = body.size() > kMaxBodyBytes;
  }
  HttpReply r;
  if (too_large) {
    r.status = 413;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "request body larger than " + std::to_string(kMaxBodyBytes) + " bytes\n";
  } else {
    r = HandleRequest(method, path, ct ? ct : "", body);
  }
  // After refusing a body we did not read, the connection cannot be reused.
  Send(c, r, too_large);
  if (r.status != 200) {
    self->opts_.log("level=info msg=" + Q("request refused") + " method=" + Q(method) +
                    " path=" + Q(path) + " status=" + std::to_string(r.status));
  } else if (path != "/healthz" && r.body.find("\"allowed\":false") != std::string::npos) {
    self->opts_.log("level=info msg=" + Q("Peer denied") + " response=" + Q(r.body));
  }
  return r.status;
}

int RunWebhook(int argc, char** argv) {
  CLI::App app{"kg webhook: HTTPS validating admission webhook that rejects invalid Kilo Peers",
               "webhook"};
  ServerOptions opts;
  std::string log_level = "info";
  app.add_option("--cert-file", opts.cert_file, "PEM certificate for TLS")->required();
  app.add_option("--key-file", opts.key_file, "PEM private key for TLS")->required();
  app.add_option("--listen", opts.listen, "Address to serve HTTPS on")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "Log level: all, debug, info, warn, error, none")
      ->check(CLI::IsMember({"all", "debug", "info", "warn", "error", "none"}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  bool quiet = log_level == "warn" || log_level == "error" || log_level == "none";
  opts.log = [quiet](std::string_view line) {
    if (quiet && line.rfind("level=error", 0) != 0) return;
    char ts[32];
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    std::fprintf(stderr, "ts=%s %.*s\n", ts, static_cast<int>(line.size()), line.data());
  };

  // Block the stop signals before civetweb starts its threads (they inherit
  // the mask), so that sigwait below is the only place they are delivered.
  sigset_t stop, old;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, &old);
  // A client closing early must not kill the process with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);

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
