#pragma once
// An in-memory FileSystem for the agent's tests: files by path, and the
// number of writes (an identical desired state must make none).

#include <map>
#include <optional>
#include <string>

#include "agent/files.h"

namespace kilo::agent {

class FakeFS : public FileSystem {
 public:
  Result<std::optional<std::string>> Read(const std::string& p) override {
    auto it = files.find(p);
    if (it == files.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status WriteAtomic(const std::string& p, const std::string& c, int) override {
    files[p] = c;
    ++writes;
    return Status::Ok();
  }
  Status Remove(const std::string& p) override {
    files.erase(p);
    return Status::Ok();
  }
  std::map<std::string, std::string> files;
  int writes = 0;
};

}  // namespace kilo::agent
