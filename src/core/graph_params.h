#pragma once
// The rendering parameters of a mesh graph (kg's /graph?format=&layout=, kgctl
// graph -o): which output formats and Graphviz layouts are accepted, and the
// Content-Type of each format. Pure: the renderers are elsewhere (kg runs the
// `dot` program, agent/graph_render.h; kgctl-full links libgvc, graphviz/render.h).

#include <string>

#include "core/status.h"

namespace kilo {

// Returns true when `format` is DOT itself ("dot", or Kilo's alias "gv"): no
// rendering needed.
bool IsDotFormat(const std::string& format);

// Returns OK when `format` (dot, gv, and what Kilo's kg renders: bmp, fig, gif,
// json, png, ps, svg) and `layout` (circo, dot, fdp, neato, osage, sfdp, twopi)
// are accepted; otherwise an error naming what is.
Status CheckGraphParams(const std::string& format, const std::string& layout);

// Returns the HTTP Content-Type for `format` ("text/vnd.graphviz" for DOT,
// "application/octet-stream" for a format without a registered type: fig).
std::string GraphContentType(const std::string& format);

}  // namespace kilo
