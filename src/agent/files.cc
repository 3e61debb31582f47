#include "agent/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace kilo::agent {
namespace {
void MkdirP(const std::string& dir) {
  if (dir.empty()) return;
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) return;
  size_t slash = dir.rfind('/');
  if (slash != std::string::npos && slash > 0) MkdirP(dir.substr(0, slash));
  mkdir(dir.c_str(), 0755);
}
}  // namespace

Result<std::optional<std::string>> RealFileSystem::Read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Result<std::optional<std::string>>::Error("read " + path + ": " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  return std::optional<std::string>(ss.str());
}

Status RealFileSystem::WriteAtomic(const std::string& path, const std::string& content, int mode) {
  size_t slash = path.rfind('/');
  if (slash != std::string::npos) MkdirP(path.substr(0, slash));
  std::string tmp = path + ".kilo-tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::Error("write " + tmp + ": " + std::strerror(errno));
  bool ok = write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ok = ok && fsync(fd) == 0;
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    return Status::Error("write " + path + ": " + std::strerror(e));
  }
  return Status::Ok();
}

Status RealFileSystem::Remove(const std::string& path) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT)
    return Status::Error("remove " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace kilo::agent
