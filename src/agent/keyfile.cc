#include "agent/keyfile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace kilo::agent {
namespace {

Status MkdirP(const std::string& dir) {
  if (dir.empty()) return Status::Ok();
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) return Status::Ok();
  size_t slash = dir.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    if (auto s = MkdirP(dir.substr(0, slash)); !s.ok()) return s;
  }
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::Error("create directory " + dir + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace

Result<Key> LoadOrCreateKey(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    struct stat st;
    bool loose = fstat(fd, &st) == 0 && (st.st_mode & 077) != 0;
    close(fd);
    if (n < 0) return Result<Key>::Error("read private key " + path + ": " + std::strerror(errno));
    std::string text(buf, static_cast<size_t>(n));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
      text.pop_back();
    auto key = Key::Parse(text);
    if (!key) {
      return Result<Key>::Error(
          "private key file " + path +
          " does not hold a base64 WireGuard key; remove it to have kg create a new one");
    }
    if (loose) chmod(path.c_str(), 0600);
    return *key;
  }
  if (errno != ENOENT)
    return Result<Key>::Error("open private key " + path + ": " + std::strerror(errno));
  size_t slash = path.rfind('/');
  if (slash != std::string::npos) {
    if (auto s = MkdirP(path.substr(0, slash)); !s.ok()) return s;
  }
  Key key = Key::GeneratePrivate();
  std::string tmp = path + ".tmp";
  fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Result<Key>::Error("create private key " + tmp + ": " + std::strerror(errno));
  fchmod(fd, 0600);
  std::string text = key.String() + "\n";
  bool ok =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return Result<Key>::Error("write private key " + path + ": " + std::strerror(errno));
  }
  return key;
}

}  // namespace kilo::agent
