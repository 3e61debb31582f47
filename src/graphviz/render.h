#pragma once
// Renders DOT text to SVG/PNG in-process with Graphviz's libgvc: kg's /graph
// endpoint and `kgctl graph -o svg|png` (kgctl-full) share it. An adapter of its
// own (it links libgvc), so that neither the agent nor the CLI reaches into the
// other; the light kgctl does not link it.

#include <string>

#include "core/status.h"

namespace kilo::graphviz {

// Returns OK when `format` (dot|svg|png) and `layout` (circo, dot, fdp, neato,
// osage, sfdp, twopi) are supported; otherwise an error saying what is.
Status CheckGraphParams(const std::string& format, const std::string& layout);

// Renders `dot` with `layout` into `format` ("dot" returns the input).
// Thread-safe (Graphviz is serialised behind a mutex).
Result<std::string> RenderGraph(const std::string& dot, const std::string& format,
                                const std::string& layout);

std::string GraphContentType(const std::string& format);

}  // namespace kilo::graphviz
