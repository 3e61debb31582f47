#pragma once
// kg's /graph rendering: DOT to SVG, PNG, ... by running Graphviz's `dot`
// program, as Kilo's kg does (`dot -K<layout> -T<format>`, the graph on stdin).
// kg does not link Graphviz's libraries (about 0.5 MiB of RSS on every node for
// an endpoint few ever ask for); DOT itself (format=dot) needs no program.
// kgctl-full renders in-process instead (graphviz/render.h).

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"
#include "firewall/exec.h"

namespace kilo::agent {

struct DotProgramOptions {
  // The program; a name without '/' is looked up in `search_path`.
  std::string program = "dot";
  // The directories to look `program` up in, as $PATH is written; nullopt =
  // this process's $PATH at each render.
  std::optional<std::string> search_path;
};

class DotProgramRenderer {
 public:
  // `runner` runs the program (kg: fw::SystemCommandRunner, whose timeout kills
  // a `dot` that runs too long).
  explicit DotProgramRenderer(std::unique_ptr<fw::CommandRunner> runner,
                              DotProgramOptions opts = {});

  // Returns `dot` rendered with `layout` into `format`; `dot` itself for a DOT
  // format, without running anything. REQUIRES: CheckGraphParams(format, layout)
  // is OK (core/graph_params.h). Errors name the program and what to do: not
  // installed (install Debian's `graphviz` package, or ask for format=dot), it
  // failed (its exit code and first line of stderr), it was killed at the
  // runner's timeout. Thread-safe when the runner is (SystemCommandRunner is).
  Result<std::string> Render(const std::string& dot, const std::string& format,
                             const std::string& layout) const;

 private:
  std::unique_ptr<fw::CommandRunner> runner_;
  DotProgramOptions opts_;
};

// Returns the path of `program` found in `search_path` (':'-separated, as
// $PATH; an empty entry is the current directory), or nullopt. A name with a
// '/' is returned as it is when it is executable.
std::optional<std::string> FindProgram(const std::string& program, const std::string& search_path);

}  // namespace kilo::agent
