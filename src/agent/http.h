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
  // Renders DOT into a format other than DOT for /graph (kg: DotProgramRenderer,
  // agent/graph_render.h); unset = only format=dot is served. Called on
  // civetweb's threads, possibly two at once.
  std::function<Result<std::string>(const std::string& dot, const std::string& format,
                                    const std::string& layout)>
      render;
};

class HttpServer {
 public:
  // `listen` is Kilo's form: ":1107", "127.0.0.1:1107", "[::1]:1107".
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& listen, AgentMetrics* metrics,
                                                   HttpHandlers h);
  ~HttpServer();

  // Returns the port it listens on (the one the kernel chose for port 0).
  int port() const;

 private:
  HttpServer() = default;
  static int Handle(::mg_connection* conn, void* self);
  mg_context* ctx_ = nullptr;
  AgentMetrics* metrics_ = nullptr;
  HttpHandlers h_;
};

}  // namespace kilo::agent
