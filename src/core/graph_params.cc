#include "core/graph_params.h"

#include <array>
#include <string_view>

namespace kilo {
namespace {

struct Format {
  std::string_view name;
  std::string_view content_type;
};

// Kilo's kg accepts these (cmd/kg/handlers.go) and takes the type from the
// extension; DOT is ours as before (Kilo answers text/plain).
constexpr std::array<Format, 9> kFormats = {{
    {"bmp", "image/bmp"},
    {"dot", "text/vnd.graphviz"},
    {"fig", "application/octet-stream"},
    {"gif", "image/gif"},
    {"gv", "text/vnd.graphviz"},
    {"json", "application/json"},
    {"png", "image/png"},
    {"ps", "application/postscript"},
    {"svg", "image/svg+xml"},
}};
constexpr std::array<std::string_view, 7> kLayouts = {"circo", "dot",  "fdp",  "neato",
                                                      "osage", "sfdp", "twopi"};

const Format* FindFormat(const std::string& name) {
  for (const Format& f : kFormats)
    if (f.name == name) return &f;
  return nullptr;
}

}  // namespace

bool IsDotFormat(const std::string& format) { return format == "dot" || format == "gv"; }

Status CheckGraphParams(const std::string& format, const std::string& layout) {
  if (!FindFormat(format))
    return Status::Error("unsupported format \"" + format +
                         "\"; use one of: bmp, dot, fig, gif, gv, json, png, ps, svg");
  for (std::string_view l : kLayouts)
    if (l == layout) return Status::Ok();
  return Status::Error("unsupported layout \"" + layout +
                       "\"; use one of: circo, dot, fdp, neato, osage, sfdp, twopi");
}

std::string GraphContentType(const std::string& format) {
  const Format* f = FindFormat(format);
  return std::string(f ? f->content_type : "application/octet-stream");
}

}  // namespace kilo
