#pragma once
// WireGuard device control behind one abstract interface.
//
// Two real backends implement WireGuardClient:
//  - UapiClient (uapi.h): the userspace API socket /var/run/wireguard/<iface>.sock
//    spoken by wireguard-go and boringtun;
//  - GenlClient (genl.h): the kernel generic-netlink family "wireguard".
// NewWireGuardClient() picks per interface: the UAPI socket when it exists, else
// generic netlink (the same order wireguard-tools uses).
//
// Convergence: Apply() reads the device, computes a WgDeviceUpdate with
// ComputeUpdate() (only what differs) and writes only that. Rewriting a peer
// that did not change would reset nothing visible but costs a syscall and, for
// endpoints, could undo roaming, so an identical desired config makes zero writes.
//
// Private keys are never logged: no function here formats a private key into an
// error message, and DebugString() redacts it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/ip.h"
#include "core/key.h"
#include "core/status.h"

namespace kilo::wg {

// A UDP endpoint as WireGuard stores it: always an IP (DNS is resolved before).
struct WgEndpoint {
  IPAddr ip;
  uint16_t port = 0;
  // "1.2.3.4:51820" or "[2001:db8::1]:51820".
  std::string String() const;
  // Parses the String() form. nullopt when invalid.
  static std::optional<WgEndpoint> Parse(const std::string& s);
  friend bool operator==(const WgEndpoint&, const WgEndpoint&) = default;
};

// Desired state of one peer.
struct WgPeerConfig {
  Key public_key;
  // nullopt and the zero key both mean "no preshared key".
  std::optional<Key> preshared_key;
  // nullopt means "leave whatever the device has" (a roaming peer's endpoint is
  // learned from its handshakes and must not be reset on every reconcile).
  std::optional<WgEndpoint> endpoint;
  int persistent_keepalive = 0;  // seconds, 0 = off
  std::vector<IPPrefix> allowed_ips;
};

// Desired state of one device.
struct WgDeviceConfig {
  // nullopt means "leave the device's key".
  std::optional<Key> private_key;
  // 0 means "leave the device's port" (the device then keeps a random one).
  int listen_port = 0;
  // nullopt means "leave"; 0 clears.
  std::optional<uint32_t> fwmark;
  std::vector<WgPeerConfig> peers;
};

// Observed state of one peer.
struct WgPeerStatus {
  Key public_key;
  Key preshared_key;  // zero key when none
  std::optional<WgEndpoint> endpoint;
  int persistent_keepalive = 0;
  int64_t last_handshake_unix = 0;  // seconds; 0 = never
  int64_t last_handshake_nsec = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
  std::vector<IPPrefix> allowed_ips;
};

// Observed state of one device.
struct WgDevice {
  std::string name;
  int ifindex = 0;
  Key private_key;  // zero when none; NEVER log
  Key public_key;   // derived
  int listen_port = 0;
  uint32_t fwmark = 0;
  std::vector<WgPeerStatus> peers;
  // Human-readable dump for debugging and tests; the private key is "(hidden)".
  std::string DebugString() const;
};

// One peer entry of a write. Mirrors the wire protocol: only fields that are
// set are written.
struct WgPeerUpdate {
  Key public_key;
  bool remove = false;       // remove=true / WGPEER_F_REMOVE_ME
  bool update_only = false;  // update_only=true / WGPEER_F_UPDATE_ONLY: never create
  std::optional<Key> preshared_key;
  std::optional<WgEndpoint> endpoint;
  std::optional<int> persistent_keepalive;
  bool replace_allowed_ips = false;
  std::vector<IPPrefix> allowed_ips;  // added (after the replace, if any)
  friend bool operator==(const WgPeerUpdate&, const WgPeerUpdate&) = default;
};

// One write to a device (one UAPI set=1 transaction, or one or more
// WG_CMD_SET_DEVICE messages).
struct WgDeviceUpdate {
  std::optional<Key> private_key;
  std::optional<int> listen_port;
  std::optional<uint32_t> fwmark;
  bool replace_peers = false;
  std::vector<WgPeerUpdate> peers;

  // Number of "writes" this update represents: one per device field set, one
  // per peer entry. 0 means the update is empty and need not be sent.
  int Writes() const;
  bool empty() const { return Writes() == 0 && !replace_peers; }
  friend bool operator==(const WgDeviceUpdate&, const WgDeviceUpdate&) = default;
};

// Returns the update that turns `current` into `desired`:
//  - peers on the device but not desired: remove;
//  - desired peers missing on the device: added with all their fields;
//  - peers on both: update_only with only the fields that differ; allowed IPs
//    are replaced only when they differ as sets of networks (the kernel and
//    wireguard-go store allowed IPs masked, so 10.1.0.7/24 == 10.1.0.0/24);
//  - private key / listen port / fwmark only when set in `desired` and different.
// Pure; an identical config gives an empty update. Peers keep desired order.
WgDeviceUpdate ComputeUpdate(const WgDevice& current, const WgDeviceConfig& desired);

// Returns a full-replace update for `desired` (replace_peers, every peer with
// replace_allowed_ips), as `wg setconf` does.
WgDeviceUpdate FullUpdate(const WgDeviceConfig& desired);

// What `update` changes on `current`, for a log line: one "; "-separated item
// per device field or peer ("peer ab12cd34: endpoint 10.0.0.1:51820 ->
// 198.51.100.13:4096", "peer ab12cd34 added", "listen port 51821"). Peers are
// named by the first 8 characters of their public key; no private or
// preshared key is ever shown. Empty for an empty update.
std::string DescribeUpdate(const WgDevice& current, const WgDeviceUpdate& update);

class WireGuardClient {
 public:
  virtual ~WireGuardClient() = default;

  // Returns the device's configuration and per-peer status.
  virtual Result<WgDevice> Get(const std::string& iface) = 0;

  // Converges `iface` to `desired`. Returns the number of writes (see
  // WgDeviceUpdate::Writes); 0 when the device already matches and nothing
  // was sent. With `what`, also what was changed (DescribeUpdate).
  virtual Result<int> Apply(const std::string& iface, const WgDeviceConfig& desired,
                            std::string* what = nullptr) {
    auto cur = Get(iface);
    if (!cur.ok()) return cur.status().Wrap("apply wireguard config to " + iface);
    WgDeviceUpdate u = ComputeUpdate(*cur, desired);
    if (u.empty()) return 0;
    Status s = Set(iface, u);
    if (!s.ok()) return s.Wrap("apply wireguard config to " + iface);
    if (what) *what = DescribeUpdate(*cur, u);
    return u.Writes();
  }

  // Writes `update` to the device as is (no diff).
  virtual Status Set(const std::string& iface, const WgDeviceUpdate& update) = 0;

  // Returns true when the backend can reach a device called `iface`.
  virtual bool Exists(const std::string& iface) = 0;

  // A short name for logs: "uapi", "genetlink", "fake".
  virtual std::string Backend() const = 0;
};

struct WireGuardClientOptions {
  // Directory of UAPI sockets.
  std::string uapi_dir = "/var/run/wireguard";
};

// Returns a client that, per call, uses the UAPI socket `<uapi_dir>/<iface>.sock`
// when it exists and generic netlink otherwise.
std::unique_ptr<WireGuardClient> NewWireGuardClient(const WireGuardClientOptions& opts = {});

}  // namespace kilo::wg
