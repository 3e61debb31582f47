#pragma once
// Renders DOT text in-process with Graphviz's libgvc, for `kgctl graph -o
// svg|png` (kgctl-full). An adapter of its own (it links libgvc) so that the
// light kgctl does not link it. kg does not use it: its /graph runs the `dot`
// program instead (agent/graph_render.h), which keeps Graphviz's libraries
// (about 0.5 MiB of RSS) out of a process that runs on every node.

#include <string>

#include "core/graph_params.h"
#include "core/status.h"

namespace kilo::graphviz {

// Renders `dot` with `layout` into `format` (core/graph_params.h says which are
// accepted; DOT formats return the input). Thread-safe (Graphviz is serialised
// behind a mutex).
Result<std::string> RenderGraph(const std::string& dot, const std::string& format,
                                const std::string& layout);

}  // namespace kilo::graphviz
