#pragma once
// Renders DOT text to SVG/PNG in-process with Graphviz's libgvc.

#include <string>

#include "core/status.h"

namespace kilo::agent {

// Returns OK when `format` (dot|svg|png) and `layout` (circo, dot, fdp, neato,
// osage, sfdp, twopi) are supported; otherwise an error saying what is.
Status CheckGraphParams(const std::string& format, const std::string& layout);

// Renders `dot` with `layout` into `format` ("dot" returns the input).
// Thread-safe (Graphviz is serialised behind a mutex).
Result<std::string> RenderGraph(const std::string& dot, const std::string& format,
                                const std::string& layout);

std::string GraphContentType(const std::string& format);

}  // namespace kilo::agent
