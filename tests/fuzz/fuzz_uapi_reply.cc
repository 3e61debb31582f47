// The WireGuard UAPI text protocol (src/wg/uapi.cc), as spoken by
// wireguard-go: bytes -> uapi::ParseGet (a get=1 reply) -> rendered back as
// wireguard-go would -> ParseGet; the same bytes through ParseErrno (a set=1
// reply) and ParseSet -> FormatSet -> ParseSet (the request side, used by the
// fake and tests).
// Checks: no crash/UB; a parsed device renders to a reply that parses to the
// same device; ParseErrno agrees with ParseGet about errno; FormatSet is
// stable; errors never echo key material.

#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "wg/uapi.h"

using kilo::wg::WgDevice;
using kilo::wg::WgPeerStatus;
namespace uapi = kilo::wg::uapi;

namespace {

// A get=1 reply as wireguard-go's IpcGetOperation writes it.
std::string RenderGet(const WgDevice& d) {
  std::string o;
  if (!d.private_key.IsZero()) o += "private_key=" + uapi::KeyToHex(d.private_key) + "\n";
  if (d.listen_port) o += "listen_port=" + std::to_string(d.listen_port) + "\n";
  if (d.fwmark) o += "fwmark=" + std::to_string(d.fwmark) + "\n";
  for (const WgPeerStatus& p : d.peers) {
    o += "public_key=" + uapi::KeyToHex(p.public_key) + "\n";
    if (!p.preshared_key.IsZero()) o += "preshared_key=" + uapi::KeyToHex(p.preshared_key) + "\n";
    o += "protocol_version=1\n";
    if (p.endpoint) o += "endpoint=" + p.endpoint->String() + "\n";
    o += "last_handshake_time_sec=" + std::to_string(p.last_handshake_unix) + "\n";
    o += "last_handshake_time_nsec=" + std::to_string(p.last_handshake_nsec) + "\n";
    o += "tx_bytes=" + std::to_string(p.tx_bytes) + "\n";
    o += "rx_bytes=" + std::to_string(p.rx_bytes) + "\n";
    o += "persistent_keepalive_interval=" + std::to_string(p.persistent_keepalive) + "\n";
    for (const auto& a : p.allowed_ips) o += "allowed_ip=" + a.String() + "\n";
  }
  o += "errno=0\n\n";
  return o;
}

bool SamePeer(const WgPeerStatus& a, const WgPeerStatus& b) {
  return a.public_key == b.public_key && a.preshared_key == b.preshared_key &&
         a.endpoint == b.endpoint && a.persistent_keepalive == b.persistent_keepalive &&
         a.last_handshake_unix == b.last_handshake_unix &&
         a.last_handshake_nsec == b.last_handshake_nsec && a.rx_bytes == b.rx_bytes &&
         a.tx_bytes == b.tx_bytes && a.allowed_ips == b.allowed_ips;
}

bool SameDevice(const WgDevice& a, const WgDevice& b) {
  if (a.private_key != b.private_key || a.public_key != b.public_key ||
      a.listen_port != b.listen_port || a.fwmark != b.fwmark || a.peers.size() != b.peers.size())
    return false;
  for (size_t i = 0; i < a.peers.size(); ++i)
    if (!SamePeer(a.peers[i], b.peers[i])) return false;
  return true;
}

// An error message is one line and never contains the value of a
// private_key= or preshared_key= line of the input.
void CheckNoKeyEcho(const std::string& msg, std::string_view in) {
  FUZZ_CHECK(msg.find('\n') == std::string::npos, "multi-line error: %s", msg.c_str());
  size_t pos = 0;
  while (pos < in.size()) {
    size_t nl = in.find('\n', pos);
    if (nl == std::string_view::npos) nl = in.size();
    std::string_view line = in.substr(pos, nl - pos);
    pos = nl + 1;
    for (std::string_view k : {"private_key=", "preshared_key="}) {
      if (line.substr(0, k.size()) != k) continue;
      std::string_view v = line.substr(k.size());
      // (Only key-like values, 16+ hex digits, that appear nowhere else, e.g.
      // as an allowed_ip.)
      bool hex = v.size() >= 16 && v.find_first_not_of("0123456789abcdefABCDEF") == v.npos;
      if (hex && in.find(v) == in.rfind(v))
        FUZZ_CHECK(msg.find(v) == std::string::npos, "error message echoes a key: %s", msg.c_str());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);

  auto d = uapi::ParseGet(in);
  auto e = uapi::ParseErrno(in);
  if (d.ok()) {
    FUZZ_CHECK(e.ok(), "ParseGet ok but ParseErrno failed: %s", e.message().c_str());
    if (!d->private_key.IsZero())
      FUZZ_CHECK(d->public_key == d->private_key.Public(), "public key not derived");
    std::string again = RenderGet(*d);
    auto d2 = uapi::ParseGet(again);
    FUZZ_CHECK(d2.ok(), "rendered reply does not parse: %s", d2.error().c_str());
    FUZZ_CHECK(SameDevice(*d, *d2), "reply round trip differs:\n%s", again.c_str());
    FUZZ_CHECK(RenderGet(*d2) == again, "rendering not stable");
  } else {
    FUZZ_CHECK(!d.error().empty(), "error without a message");
    CheckNoKeyEcho(d.error(), in);
  }
  if (!e.ok()) CheckNoKeyEcho(e.message(), in);

  auto u = uapi::ParseSet(in);
  if (u.ok()) {
    std::string req = uapi::FormatSet(*u);
    auto u2 = uapi::ParseSet(req);
    FUZZ_CHECK(u2.ok(), "FormatSet output does not parse: %s\n%s", u2.error().c_str(), req.c_str());
    FUZZ_CHECK(uapi::FormatSet(*u2) == req, "FormatSet not stable:\n%s", req.c_str());
    FUZZ_CHECK(u2->peers.size() == u->peers.size(), "peer count changed");
  } else {
    CheckNoKeyEcho(u.error(), in);
  }
  return 0;
}
