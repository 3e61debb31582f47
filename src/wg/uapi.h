#pragma once
// The WireGuard cross-platform userspace API (https://www.wireguard.com/xplatform/),
// spoken over the unix socket <dir>/<iface>.sock by wireguard-go and boringtun.
//
// A transaction is "get=1\n\n" or "set=1\n" + key=value lines + "\n"; the reply is
// key=value lines ending with "errno=N\n\n". Keys are lower-case hex, not base64.

#include <chrono>
#include <string>
#include <string_view>

#include "wg/wireguard.h"

namespace kilo::wg {

namespace uapi {

// Returns the request for a read: "get=1\n\n".
std::string FormatGet();
// Returns the full set=1 request for `u`, terminated by the blank line.
// The text contains private and preshared keys: never log it.
std::string FormatSet(const WgDeviceUpdate& u);
// Parses a get=1 reply (through "errno=0"). Fails on errno != 0, unknown
// structure or malformed values; unknown keys are ignored (forward compatible).
Result<WgDevice> ParseGet(std::string_view reply);
// Parses the "errno=N" reply of a set=1. OK when N == 0.
Status ParseErrno(std::string_view reply);
// Parses a set=1 request back into an update (for tests and the fake).
Result<WgDeviceUpdate> ParseSet(std::string_view request);

std::string KeyToHex(const Key& k);
std::optional<Key> KeyFromHex(std::string_view hex);

}  // namespace uapi

// WireGuardClient over UAPI sockets. Thread-compatible (each call opens its own
// connection, as the protocol allows one transaction per connection in practice).
class UapiClient : public WireGuardClient {
 public:
  // A daemon that takes longer than `timeout` to answer fails the call (it
  // answers in microseconds; a wedged or stopped one must not stall kg).
  explicit UapiClient(std::string dir = "/var/run/wireguard",
                      std::chrono::milliseconds timeout = std::chrono::seconds(10))
      : dir_(std::move(dir)), timeout_(timeout) {}
  Result<WgDevice> Get(const std::string& iface) override;
  Status Set(const std::string& iface, const WgDeviceUpdate& update) override;
  // True when <dir>/<iface>.sock exists and is a socket.
  bool Exists(const std::string& iface) override;
  std::string Backend() const override { return "uapi"; }
  std::string SocketPath(const std::string& iface) const { return dir_ + "/" + iface + ".sock"; }

 private:
  // Sends `request`, reads until the terminating blank line (or EOF).
  Result<std::string> Transact(const std::string& iface, const std::string& request);
  std::string dir_;
  std::chrono::milliseconds timeout_;
};

}  // namespace kilo::wg
