#pragma once
#include <string>
namespace kilo::cli {
// Shell completion scripts for kgctl (and the kubectl-kilo plugin name).
std::string BashCompletion();
std::string ZshCompletion();
}  // namespace kilo::cli
