#pragma once
// kg's HTTP endpoint on --listen: /health, /metrics (Prometheus text),
// /graph (DOT, or SVG/PNG with ?format=&layout=). Runs on civetweb threads.

#include <functional>
#include <memory>
#include <string>

#include "agent/metrics.h"
#include "core/status.h"

struct mg_context;
struct mg_connection;

namespace kilo::agent {

struct HttpHandlers {
  std::function<std::string()> dot;  // the current topology as DOT ("" = none yet)
  std::function<bool()> healthy;     // /health answers 200 when true
};

class HttpServer {
 public:
  // `listen` is Kilo's form: ":1107", "127.0.0.1:1107", "[::1]:1107".
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& listen, AgentMetrics* metrics,
                                                   HttpHandlers h);
  ~HttpServer();

 private:
  HttpServer() = default;
  static int Handle(::mg_connection* conn, void* self);
  mg_context* ctx_ = nullptr;
  AgentMetrics* metrics_ = nullptr;
  HttpHandlers h_;
};

}  // namespace kilo::agent
