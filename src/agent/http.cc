#include "agent/http.h"

#include <civetweb.h>
#include <prometheus/text_serializer.h>

#include <cstring>
#include <sstream>

#include "core/graph_params.h"

namespace kilo::agent {
namespace {

void Reply(mg_connection* c, int code, const std::string& type, const std::string& body) {
  const char* reason = code == 200   ? "OK"
                       : code == 400 ? "Bad Request"
                       : code == 404 ? "Not Found"
                       : code == 500 ? "Internal Server Error"
                       : code == 503 ? "Service Unavailable"
                                     : "Error";
  mg_printf(
      c, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
      code, reason, type.c_str(), body.size());
  mg_write(c, body.data(), body.size());
}

std::string Query(const mg_request_info* ri, const char* key, const char* def) {
  if (!ri->query_string) return def;
  char buf[64];
  int n = mg_get_var(ri->query_string, std::strlen(ri->query_string), key, buf, sizeof buf);
  if (n < 0) return def;
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& listen,
                                                      AgentMetrics* metrics, HttpHandlers h) {
  std::string port = listen;
  if (!port.empty() && port[0] == ':') port = port.substr(1);
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->metrics_ = metrics;
  s->h_ = std::move(h);
  const char* options[] = {"listening_ports", port.c_str(), "num_threads", "2", nullptr};
  mg_init_library(0);
  s->ctx_ = mg_start(nullptr, nullptr, options);
  if (!s->ctx_)
    return Result<std::unique_ptr<HttpServer>>::Error("cannot listen on " + listen +
                                                      " (address in use or invalid; set --listen)");
  mg_set_request_handler(s->ctx_, "/", &HttpServer::Handle, s.get());
  return s;
}

int HttpServer::port() const {
  mg_server_port ports[1];
  if (mg_get_server_ports(ctx_, 1, ports) < 1) return 0;
  return ports[0].port;
}

HttpServer::~HttpServer() {
  if (ctx_) mg_stop(ctx_);
}

int HttpServer::Handle(mg_connection* c, void* self_ptr) {
  auto* self = static_cast<HttpServer*>(self_ptr);
  const mg_request_info* ri = mg_get_request_info(c);
  std::string uri = ri->local_uri ? ri->local_uri : "";
  if (uri == "/health" || uri == "/healthz") {
    bool ok = !self->h_.healthy || self->h_.healthy();
    Reply(c, ok ? 200 : 503, "text/plain", ok ? "ok\n" : "not ready\n");
    return 1;
  }
  if (uri == "/metrics") {
    if (self->metrics_) self->metrics_->UpdateProcess();
    std::ostringstream out;
    prometheus::TextSerializer ser;
    if (self->metrics_) ser.Serialize(out, self->metrics_->registry().Collect());
    Reply(c, 200, "text/plain; version=0.0.4", out.str());
    return 1;
  }
  if (uri == "/graph") {
    std::string format = Query(ri, "format", "dot");
    std::string layout = Query(ri, "layout", "circo");
    if (auto s = CheckGraphParams(format, layout); !s.ok()) {
      Reply(c, 400, "text/plain", s.message() + "\n");
      return 1;
    }
    std::string dot = self->h_.dot ? self->h_.dot() : "";
    if (dot.empty()) {
      Reply(c, 503, "text/plain", "no topology yet\n");
      return 1;
    }
    if (IsDotFormat(format)) {
      Reply(c, 200, GraphContentType(format), dot);
      return 1;
    }
    if (!self->h_.render) {
      Reply(c, 500, "text/plain", "this kg renders no " + format + "; ask for format=dot\n");
      return 1;
    }
    auto out = self->h_.render(dot, format, layout);
    if (!out.ok()) {
      Reply(c, 500, "text/plain", out.error() + "\n");
      return 1;
    }
    Reply(c, 200, GraphContentType(format), *out);
    return 1;
  }
  Reply(c, 404, "text/plain", "not found; try /health, /metrics or /graph\n");
  return 1;
}

}  // namespace kilo::agent
