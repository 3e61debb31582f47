#pragma once
// `kg webhook`: the HTTPS server of the Peer validating admission webhook.
// Request handling is validate.h's HandleRequest; this file adds TLS,
// listening, body limits and signal handling (civetweb + OpenSSL).

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

struct mg_context;
struct mg_connection;

namespace kilo::webhook {

struct ServerOptions {
  std::string cert_file;  // PEM certificate (chain); REQUIRED
  std::string key_file;   // PEM private key matching cert_file; REQUIRED
  // "[host]:port": ":8443", "0.0.0.0:8443", "[::]:8443", "127.0.0.1:0" (port 0:
  // any free port, see WebhookServer::port()).
  std::string listen = ":8443";
  int threads = 8;
  // Receives one log line per event (no trailing newline). Defaults to stderr.
  std::function<void(std::string_view)> log;
};

// Checks that `cert_file` and `key_file` are readable PEM files and that the
// key matches the certificate. The error names the flag, the path and why:
// `--key-file /etc/kilo/tls.key: No such file or directory`.
Status CheckCertificate(const std::string& cert_file, const std::string& key_file);

// Converts a --listen value to civetweb's listening_ports syntax with TLS
// ("8443s", "127.0.0.1:8443s", "[::1]:8443s"). Error for a malformed value.
Result<std::string> ListenToPorts(std::string_view listen);

// A running webhook server. Thread-safe: requests are served on civetweb's
// worker threads; destruction stops the server and waits for them.
class WebhookServer {
 public:
  // Starts serving. Errors: bad certificate/key, malformed or unusable listen
  // address (in use, permission), TLS unavailable.
  static Result<std::unique_ptr<WebhookServer>> Start(ServerOptions opts);
  ~WebhookServer();
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  // The bound TCP port (useful with port 0).
  int port() const { return port_; }

 private:
  WebhookServer() = default;
  static int Handle(::mg_connection* c, void* self);
  static int InitSsl(void* ssl_ctx, void* self);

  ServerOptions opts_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

// Entry point of `kg webhook`: parses --cert-file, --key-file, --listen
// (default :8443) and --log-level from argv (argv[0] is the command name, e.g.
// "webhook"), serves until SIGTERM or SIGINT, and returns the process exit
// code (0 after a signal, 1 on a start-up error, with the error on stderr).
// REQUIRES: called from the main thread before other threads are started (it
// blocks SIGTERM/SIGINT so that worker threads inherit the mask).
int RunWebhook(int argc, char** argv);

}  // namespace kilo::webhook
