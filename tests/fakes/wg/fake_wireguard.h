#pragma once
// A stateful in-memory WireGuardClient for the agent's unit tests. It applies
// updates with the semantics of the real devices (remove, update_only,
// replace_allowed_ips, allowed IPs unique per device) and records every write.

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "wg/wireguard.h"

namespace kilo::wg {

class FakeWireGuard : public WireGuardClient {
 public:
  struct Write {
    std::string iface;
    WgDeviceUpdate update;
  };

  // Creates an empty device (as `ip link add type wireguard` would).
  void AddDevice(const std::string& iface) { devices_[iface].name = iface; }
  void RemoveDevice(const std::string& iface) { devices_.erase(iface); }
  // Direct access for test setup (e.g. a handshake that moved an endpoint).
  WgDevice* Device(const std::string& iface) {
    auto it = devices_.find(iface);
    return it == devices_.end() ? nullptr : &it->second;
  }
  // Makes the next Get or Set fail with `msg`.
  void FailNext(std::string msg) { fail_ = std::move(msg); }

  const std::vector<Write>& writes() const { return writes_; }
  void ClearWrites() { writes_.clear(); }

  Result<WgDevice> Get(const std::string& iface) override {
    if (!fail_.empty()) return TakeFailure();
    auto it = devices_.find(iface);
    if (it == devices_.end()) return Status::Error("get " + iface + ": No such device");
    return it->second;
  }

  Status Set(const std::string& iface, const WgDeviceUpdate& u) override {
    if (!fail_.empty()) return TakeFailure();
    auto it = devices_.find(iface);
    if (it == devices_.end()) return Status::Error("set " + iface + ": No such device");
    writes_.push_back({iface, u});
    WgDevice& d = it->second;
    if (u.private_key) {
      d.private_key = *u.private_key;
      d.public_key = u.private_key->IsZero() ? Key() : u.private_key->Public();
    }
    if (u.listen_port) d.listen_port = *u.listen_port;
    if (u.fwmark) d.fwmark = *u.fwmark;
    if (u.replace_peers) d.peers.clear();
    for (const auto& p : u.peers) {
      auto pit = std::find_if(d.peers.begin(), d.peers.end(),
                              [&](const WgPeerStatus& s) { return s.public_key == p.public_key; });
      if (p.remove) {
        if (pit != d.peers.end()) d.peers.erase(pit);
        continue;
      }
      if (pit == d.peers.end()) {
        if (p.update_only) continue;
        d.peers.push_back({});
        pit = d.peers.end() - 1;
        pit->public_key = p.public_key;
      }
      if (p.preshared_key) pit->preshared_key = *p.preshared_key;
      if (p.endpoint) pit->endpoint = p.endpoint;
      if (p.persistent_keepalive) pit->persistent_keepalive = *p.persistent_keepalive;
      if (p.replace_allowed_ips) pit->allowed_ips.clear();
      for (const auto& a : p.allowed_ips) {
        IPPrefix n = a.Network();
        // An allowed IP belongs to one peer: adding it moves it.
        for (auto& other : d.peers)
          other.allowed_ips.erase(
              std::remove(other.allowed_ips.begin(), other.allowed_ips.end(), n),
              other.allowed_ips.end());
        pit->allowed_ips.push_back(n);
      }
    }
    return Status::Ok();
  }

  bool Exists(const std::string& iface) override { return devices_.count(iface) > 0; }
  std::string Backend() const override { return "fake"; }

 private:
  Status TakeFailure() {
    Status s = Status::Error(fail_);
    fail_.clear();
    return s;
  }
  std::map<std::string, WgDevice> devices_;
  std::vector<Write> writes_;
  std::string fail_;
};

}  // namespace kilo::wg
