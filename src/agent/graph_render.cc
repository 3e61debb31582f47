#include "agent/graph_render.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

#include "core/graph_params.h"

namespace kilo::agent {
namespace {

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

std::string FirstLine(std::string_view s) {
  while (!s.empty() && (s.front() == '\n' || s.front() == ' ')) s.remove_prefix(1);
  std::string_view line = s.substr(0, s.find('\n'));
  if (line.size() > 300) line = line.substr(0, 300);
  return std::string(line);
}

}  // namespace

std::optional<std::string> FindProgram(const std::string& program, const std::string& search_path) {
  if (program.find('/') != std::string::npos) {
    if (IsExecutableFile(program)) return program;
    return std::nullopt;
  }
  size_t start = 0;
  for (;;) {
    size_t end = search_path.find(':', start);
    std::string dir = search_path.substr(start, end == std::string::npos ? end : end - start);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
    if (IsExecutableFile(candidate)) return candidate;
    if (end == std::string::npos) return std::nullopt;
    start = end + 1;
  }
}

DotProgramRenderer::DotProgramRenderer(std::unique_ptr<fw::CommandRunner> runner,
                                       DotProgramOptions opts)
    : runner_(std::move(runner)), opts_(std::move(opts)) {}

Result<std::string> DotProgramRenderer::Render(const std::string& dot, const std::string& format,
                                               const std::string& layout) const {
  if (IsDotFormat(format)) return dot;
  const std::string what = "render the graph as " + format;
  std::string search;
  if (opts_.search_path) {
    search = *opts_.search_path;
  } else if (const char* env = std::getenv("PATH")) {
    search = env;
  }
  // Looked up here rather than left to exec's ENOENT: the one failure an
  // operator can fix by installing a package gets a message saying so.
  std::optional<std::string> path = FindProgram(opts_.program, search);
  if (!path) {
    return Result<std::string>::Error(
        what + ": Graphviz's `" + opts_.program + "` program is not installed (not found in PATH=" +
        search + "); install it (Debian, Ubuntu: apt-get install graphviz; Alpine: apk add " +
        "graphviz) where kg runs, or ask for format=dot and render it elsewhere");
  }
  auto out = runner_->Run({*path, "-K" + layout, "-T" + format}, dot);
  if (!out.ok()) return Result<std::string>::Error(what + ": " + out.error());
  if (out->exit_code != 0) {
    return Result<std::string>::Error(what + ": " + *path + " -K" + layout + " -T" + format +
                                      " failed (exit code " + std::to_string(out->exit_code) +
                                      "): " + FirstLine(out->err));
  }
  return std::move(out->out);
}

}  // namespace kilo::agent
