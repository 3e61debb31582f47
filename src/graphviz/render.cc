#include "graphviz/render.h"

#include <graphviz/gvc.h>

#include "core/thread_annotations.h"

namespace kilo::graphviz {
namespace {

// Graphviz keeps global state: one context, used by one thread at a time.
Mutex gvc_mu;
GVC_t* gvc GUARDED_BY(gvc_mu) = nullptr;

}  // namespace

Result<std::string> RenderGraph(const std::string& dot, const std::string& format,
                                const std::string& layout) {
  if (auto s = CheckGraphParams(format, layout); !s.ok()) return s;
  if (IsDotFormat(format)) return dot;
  MutexLock lock(&gvc_mu);
  if (!gvc) gvc = gvContext();
  if (!gvc) return Result<std::string>::Error("graphviz: cannot create a context");
  Agraph_t* g = agmemread(dot.c_str());
  if (!g) return Result<std::string>::Error("graphviz: cannot parse the graph");
  if (gvLayout(gvc, g, layout.c_str()) != 0) {
    agclose(g);
    return Result<std::string>::Error("graphviz: layout " + layout + " failed");
  }
  char* data = nullptr;
  unsigned int len = 0;
  int rc = gvRenderData(gvc, g, format.c_str(), &data, &len);
  std::string out;
  if (rc == 0 && data) out.assign(data, len);
  if (data) gvFreeRenderData(data);
  gvFreeLayout(gvc, g);
  agclose(g);
  if (rc != 0) return Result<std::string>::Error("graphviz: rendering " + format + " failed");
  return out;
}

}  // namespace kilo::graphviz
