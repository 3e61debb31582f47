#pragma once
// File I/O the agent needs, behind an interface so the reconcile loop can be
// tested against an in-memory fake.

#include <optional>
#include <string>

#include "core/status.h"

namespace kilo::agent {

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // nullopt when the file does not exist.
  virtual Result<std::optional<std::string>> Read(const std::string& path) = 0;
  // Writes atomically (temp file in the same directory + rename), creating
  // the directory when missing.
  virtual Status WriteAtomic(const std::string& path, const std::string& content, int mode) = 0;
  virtual Status Remove(const std::string& path) = 0;
};

class RealFileSystem : public FileSystem {
 public:
  Result<std::optional<std::string>> Read(const std::string& path) override;
  Status WriteAtomic(const std::string& path, const std::string& content, int mode) override;
  Status Remove(const std::string& path) override;
};

}  // namespace kilo::agent
