#pragma once
// `kg webhook`: the HTTPS server of the Peer validating admission webhook.
// Request handling is validate.h's HandleRequest; this file adds TLS,
// listening, HTTP/1.1 framing, limits and signal handling, on mbedTLS (linked
// statically, as kg's API client is: kg loads no OpenSSL).
//
// Why not civetweb (which kg's metrics endpoint uses): Debian's civetweb 1.15
// loads OpenSSL with dlopen and crashes (call through a null function pointer)
// on the first TLS handshake against OpenSSL 3. The webhook needs little HTTP:
// one POST endpoint with a bounded body, so a small server is less risk than
// a patched civetweb.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace kilo::webhook {

struct ServerOptions {
  std::string cert_file;  // PEM certificate (chain); REQUIRED
  std::string key_file;   // PEM private key matching cert_file; REQUIRED
  // "[host]:port": ":8443", "0.0.0.0:8443", "[::]:8443", "127.0.0.1:0" (port 0:
  // any free port, see WebhookServer::port()).
  std::string listen = ":8443";
  // Connections served at once; more are closed on accept.
  int max_connections = 64;
  // Per read/write timeout (also bounds the TLS handshake and idle keep-alive).
  int io_timeout_ms = 10000;
  // Receives one log line per event (no trailing newline). Defaults to stderr.
  std::function<void(std::string_view)> log;
};

// Checks that `cert_file` and `key_file` are readable PEM files and that the
// key matches the certificate. The error names the flag, the path and why:
// `--key-file /etc/kilo/tls.key: No such file or directory`.
Status CheckCertificate(const std::string& cert_file, const std::string& key_file);

struct ListenAddress {
  std::string host;  // "" = every address (IPv6 and IPv4); no brackets
  uint16_t port = 0;
};
// Parses a --listen value like Go's net.Listen: "[host]:port", IPv6 hosts in
// brackets. Error for a malformed value.
Result<ListenAddress> ParseListen(std::string_view listen);

// A running webhook server: an accept thread and one thread per connection
// (HTTP/1.1 keep-alive, no pipelining guarantees beyond in-order replies).
// Destruction stops accepting, shuts down open connections and waits for
// their threads. Start() ignores SIGPIPE process-wide (a belt to the braces of
// send(MSG_NOSIGNAL): a peer closing early must not kill the process).
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
  struct Impl;
  std::unique_ptr<Impl> impl_;
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
