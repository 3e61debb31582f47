#include "wg/uapi.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <sstream>

namespace kilo::wg {
namespace uapi {

namespace {

const char kHex[] = "0123456789abcdef";

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

template <typename T>
bool ParseUint(std::string_view s, T* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Iterates "key=value" lines. Returns false on a malformed line.
template <typename F>
Status ForEachLine(std::string_view text, F&& f) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) break;  // the terminating blank line
    size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      return Status::Error("malformed uapi line without '=' (" + std::to_string(line.size()) +
                           " bytes)");
    Status s = f(line.substr(0, eq), line.substr(eq + 1));
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

std::string KeyToHex(const Key& k) {
  std::string s;
  s.reserve(64);
  for (uint8_t b : k.bytes()) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

std::optional<Key> KeyFromHex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  std::array<uint8_t, Key::kLen> b{};
  for (size_t i = 0; i < Key::kLen; ++i) {
    int hi = HexVal(hex[2 * i]), lo = HexVal(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    b[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return Key(b);
}

std::string FormatGet() { return "get=1\n\n"; }

std::string FormatSet(const WgDeviceUpdate& u) {
  std::string o = "set=1\n";
  if (u.private_key) o += "private_key=" + KeyToHex(*u.private_key) + "\n";
  if (u.listen_port) o += "listen_port=" + std::to_string(*u.listen_port) + "\n";
  if (u.fwmark) o += "fwmark=" + std::to_string(*u.fwmark) + "\n";
  if (u.replace_peers) o += "replace_peers=true\n";
  for (const auto& p : u.peers) {
    o += "public_key=" + KeyToHex(p.public_key) + "\n";
    if (p.remove) {
      o += "remove=true\n";
      continue;
    }
    if (p.update_only) o += "update_only=true\n";
    if (p.preshared_key) o += "preshared_key=" + KeyToHex(*p.preshared_key) + "\n";
    if (p.endpoint) o += "endpoint=" + p.endpoint->String() + "\n";
    if (p.persistent_keepalive)
      o += "persistent_keepalive_interval=" + std::to_string(*p.persistent_keepalive) + "\n";
    if (p.replace_allowed_ips) o += "replace_allowed_ips=true\n";
    for (const auto& a : p.allowed_ips) o += "allowed_ip=" + a.Network().String() + "\n";
  }
  o += "\n";
  return o;
}

Status ParseErrno(std::string_view reply) {
  bool found = false;
  int err = 0;
  Status s = ForEachLine(reply, [&](std::string_view k, std::string_view v) -> Status {
    if (k == "errno") {
      found = true;
      if (!ParseUint(v, &err)) return Status::Error("malformed errno value");
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (!found) return Status::Error("uapi reply without errno (connection closed early?)");
  if (err != 0)
    return Status::Error("uapi error: errno=" + std::to_string(err) + " (" + strerror(err) + ")");
  return Status::Ok();
}

Result<WgDevice> ParseGet(std::string_view reply) {
  WgDevice d;
  WgPeerStatus* peer = nullptr;
  bool got_errno = false;
  int err = 0;
  auto bad = [](std::string_view k) {
    return Status::Error("uapi get: malformed value for " + std::string(k));
  };
  Status s = ForEachLine(reply, [&](std::string_view k, std::string_view v) -> Status {
    if (k == "errno") {
      got_errno = true;
      if (!ParseUint(v, &err)) return bad(k);
      return Status::Ok();
    }
    if (k == "public_key") {
      auto key = KeyFromHex(v);
      if (!key) return bad(k);
      d.peers.emplace_back();
      peer = &d.peers.back();
      peer->public_key = *key;
      return Status::Ok();
    }
    if (!peer) {
      if (k == "private_key") {
        auto key = KeyFromHex(v);
        if (!key) return bad(k);  // never echo the value
        d.private_key = *key;
        if (!key->IsZero()) d.public_key = key->Public();
      } else if (k == "listen_port") {
        if (!ParseUint(v, &d.listen_port)) return bad(k);
      } else if (k == "fwmark") {
        if (!ParseUint(v, &d.fwmark)) return bad(k);
      }
      return Status::Ok();
    }
    if (k == "preshared_key") {
      auto key = KeyFromHex(v);
      if (!key) return bad(k);
      peer->preshared_key = *key;
    } else if (k == "endpoint") {
      auto ep = WgEndpoint::Parse(std::string(v));
      if (!ep) return Status::Error("uapi get: malformed endpoint " + std::string(v));
      peer->endpoint = *ep;
    } else if (k == "persistent_keepalive_interval") {
      if (!ParseUint(v, &peer->persistent_keepalive)) return bad(k);
    } else if (k == "allowed_ip") {
      auto p = IPPrefix::Parse(v);
      if (!p) return Status::Error("uapi get: malformed allowed_ip " + std::string(v));
      peer->allowed_ips.push_back(*p);
    } else if (k == "last_handshake_time_sec") {
      if (!ParseUint(v, &peer->last_handshake_unix)) return bad(k);
    } else if (k == "last_handshake_time_nsec") {
      if (!ParseUint(v, &peer->last_handshake_nsec)) return bad(k);
    } else if (k == "rx_bytes") {
      if (!ParseUint(v, &peer->rx_bytes)) return bad(k);
    } else if (k == "tx_bytes") {
      if (!ParseUint(v, &peer->tx_bytes)) return bad(k);
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (!got_errno) return Status::Error("uapi get: reply without errno (connection closed early?)");
  if (err != 0)
    return Status::Error("uapi get: errno=" + std::to_string(err) + " (" + strerror(err) + ")");
  return d;
}

Result<WgDeviceUpdate> ParseSet(std::string_view request) {
  if (request.substr(0, 6) != "set=1\n") return Status::Error("not a set=1 request");
  WgDeviceUpdate u;
  WgPeerUpdate* peer = nullptr;
  auto bad = [](std::string_view k) {
    return Status::Error("uapi set: malformed value for " + std::string(k));
  };
  Status s = ForEachLine(request.substr(6), [&](std::string_view k, std::string_view v) -> Status {
    if (k == "public_key") {
      auto key = KeyFromHex(v);
      if (!key) return bad(k);
      u.peers.emplace_back();
      peer = &u.peers.back();
      peer->public_key = *key;
      return Status::Ok();
    }
    if (!peer) {
      if (k == "private_key") {
        auto key = KeyFromHex(v);
        if (!key) return bad(k);
        u.private_key = *key;
      } else if (k == "listen_port") {
        int p;
        if (!ParseUint(v, &p)) return bad(k);
        u.listen_port = p;
      } else if (k == "fwmark") {
        uint32_t m;
        if (!ParseUint(v, &m)) return bad(k);
        u.fwmark = m;
      } else if (k == "replace_peers") {
        u.replace_peers = v == "true";
      } else {
        return Status::Error("uapi set: unknown device key " + std::string(k));
      }
      return Status::Ok();
    }
    if (k == "remove") {
      peer->remove = v == "true";
    } else if (k == "update_only") {
      peer->update_only = v == "true";
    } else if (k == "preshared_key") {
      auto key = KeyFromHex(v);
      if (!key) return bad(k);
      peer->preshared_key = *key;
    } else if (k == "endpoint") {
      auto ep = WgEndpoint::Parse(std::string(v));
      if (!ep) return bad(k);
      peer->endpoint = *ep;
    } else if (k == "persistent_keepalive_interval") {
      int ka;
      if (!ParseUint(v, &ka)) return bad(k);
      peer->persistent_keepalive = ka;
    } else if (k == "replace_allowed_ips") {
      peer->replace_allowed_ips = v == "true";
    } else if (k == "allowed_ip") {
      auto p = IPPrefix::Parse(v);
      if (!p) return bad(k);
      peer->allowed_ips.push_back(*p);
    } else {
      return Status::Error("uapi set: unknown peer key " + std::string(k));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return u;
}

}  // namespace uapi

bool UapiClient::Exists(const std::string& iface) {
  struct stat st;
  return stat(SocketPath(iface).c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

Result<std::string> UapiClient::Transact(const std::string& iface, const std::string& request) {
  std::string path = SocketPath(iface);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path))
    return Status::Error("uapi socket path too long: " + path);
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Error(std::string("socket: ") + strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  // wireguard-go answers in microseconds; a daemon that stopped answering
  // (wedged, or SIGSTOPped) must not stall the agent's loop for ever.
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout_.count() % 1000 * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0)
    return Status::Error("connect " + path + ": " + strerror(errno));
  size_t off = 0;
  while (off < request.size()) {
    ssize_t n = send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return Status::Error("write " + path + ": no progress in " +
                             std::to_string(timeout_.count()) + " ms; is wireguard-go for " +
                             iface + " hung?");
      return Status::Error("write " + path + ": " + strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  std::string reply;
  char buf[4096];
  // The reply ends with a blank line ("errno=0\n\n"); the server keeps the
  // connection open for further requests, so EOF cannot be relied upon.
  while (reply.size() < 2 || reply.compare(reply.size() - 2, 2, "\n\n") != 0) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return Status::Error("read " + path + ": no reply in " + std::to_string(timeout_.count()) +
                             " ms; is wireguard-go for " + iface + " hung?");
      return Status::Error("read " + path + ": " + strerror(errno));
    }
    if (n == 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  return reply;
}

Result<WgDevice> UapiClient::Get(const std::string& iface) {
  auto r = Transact(iface, uapi::FormatGet());
  if (!r.ok()) return r.status().Wrap("get " + iface);
  auto d = uapi::ParseGet(*r);
  if (!d.ok()) return d.status().Wrap("get " + iface);
  d->name = iface;
  return d;
}

Status UapiClient::Set(const std::string& iface, const WgDeviceUpdate& update) {
  auto r = Transact(iface, uapi::FormatSet(update));
  if (!r.ok()) return r.status().Wrap("set " + iface);
  return uapi::ParseErrno(*r).Wrap("set " + iface);
}

}  // namespace kilo::wg
