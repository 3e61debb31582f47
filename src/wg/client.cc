// NewWireGuardClient: per-interface choice between UAPI and generic netlink.

#include "wg/genl.h"
#include "wg/uapi.h"
#include "wg/wireguard.h"

namespace kilo::wg {
namespace {

// Chooses per call, because a userspace implementation may be started (or
// stopped) for an interface at any time and its socket is the only sign of it.
class AutoClient : public WireGuardClient {
 public:
  explicit AutoClient(const WireGuardClientOptions& o) : uapi_(o.uapi_dir) {}
  Result<WgDevice> Get(const std::string& iface) override { return For(iface).Get(iface); }
  Result<int> Apply(const std::string& iface, const WgDeviceConfig& desired,
                    std::string* what) override {
    return For(iface).Apply(iface, desired, what);
  }
  Status Set(const std::string& iface, const WgDeviceUpdate& u) override {
    return For(iface).Set(iface, u);
  }
  bool Exists(const std::string& iface) override {
    return uapi_.Exists(iface) || genl_.Exists(iface);
  }
  std::string Backend() const override { return "auto"; }

 private:
  WireGuardClient& For(const std::string& iface) {
    if (uapi_.Exists(iface)) return uapi_;
    return genl_;
  }
  UapiClient uapi_;
  GenlClient genl_;
};

}  // namespace

std::unique_ptr<WireGuardClient> NewWireGuardClient(const WireGuardClientOptions& opts) {
  return std::make_unique<AutoClient>(opts);
}

}  // namespace kilo::wg
