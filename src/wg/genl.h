#pragma once
// WireGuard over the kernel's generic netlink family "wireguard"
// (include/uapi/linux/wireguard.h), on libmnl.
//
// Message building and parsing are pure functions over byte buffers so that
// they are unit-testable on a kernel without the WireGuard module.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_annotations.h"
#include "wg/wireguard.h"

namespace kilo::netlink {
class NetlinkSocket;
}

namespace kilo::wg {

namespace genl {

using Message = std::vector<uint8_t>;

// wireguard-tools sizes each SET_DEVICE message to mnl_ideal_socket_buffer_size()
// (min(page size, 8 KiB)); the kernel accepts larger ones, but staying under it
// keeps every message inside one socket buffer allocation.
constexpr size_t kMaxMessageSize = 4096;

// Returns the WG_CMD_SET_DEVICE messages that write `u` to `iface`, each at
// most `max_size` bytes. When the peers do not fit in one message they are
// continued in the next one, exactly as wireguard-tools does: device
// attributes (and WGDEVICE_F_REPLACE_PEERS) only in the first message; a peer
// whose allowed IPs overflow is repeated in the next message with its public
// key and the remaining allowed IPs only (WGPEER_F_REPLACE_ALLOWEDIPS only in
// its first part, since a repeated replace would drop the first part).
// Returns an error only when a single peer header cannot fit at all.
Result<std::vector<Message>> BuildSetDevice(uint16_t family_id, const std::string& iface,
                                            const WgDeviceUpdate& u,
                                            size_t max_size = kMaxMessageSize);

// Returns the WG_CMD_GET_DEVICE dump request for `iface`.
Message BuildGetDevice(uint16_t family_id, const std::string& iface);

// Returns the messages a kernel would send in reply to a GET_DEVICE dump of
// `d` (NLM_F_MULTI, split like the kernel when over `max_size`). For tests and
// fakes: canned replies are built with it, then parsed with ParseGetDevice.
Result<std::vector<Message>> BuildGetDeviceReply(uint16_t family_id, const WgDevice& d,
                                                 size_t max_size = kMaxMessageSize);

// Accumulates one GET_DEVICE reply message (a single nlmsghdr) into `d`.
// A peer whose public key equals the last parsed peer's is a continuation
// (the kernel splits a peer's allowed IPs across messages) and is merged.
Status ParseGetDevice(const uint8_t* msg, size_t len, WgDevice* d);

// Parses SET_DEVICE messages back into one update (merging continuations).
// The inverse of BuildSetDevice, for tests.
Result<WgDeviceUpdate> ParseSetDevice(const std::vector<Message>& msgs, std::string* iface);

// Builds the CTRL_CMD_GETFAMILY request for `name` and parses its reply.
Message BuildGetFamily(const std::string& name);
Result<uint16_t> ParseFamilyId(const uint8_t* msg, size_t len);

}  // namespace genl

// WireGuardClient over kernel generic netlink. Thread-safe (a mutex serialises
// the socket).
class GenlClient : public WireGuardClient {
 public:
  GenlClient();
  ~GenlClient() override;
  Result<WgDevice> Get(const std::string& iface) override;
  Status Set(const std::string& iface, const WgDeviceUpdate& update) override;
  // True when the family resolves and `iface` answers a GET_DEVICE.
  bool Exists(const std::string& iface) override;
  std::string Backend() const override { return "genetlink"; }

 private:
  // Opens the socket and resolves the family id once.
  Status Init() REQUIRES(mu_);
  Mutex mu_;
  std::unique_ptr<netlink::NetlinkSocket> sock_ GUARDED_BY(mu_);
  uint16_t family_ GUARDED_BY(mu_) = 0;
};

}  // namespace kilo::wg
