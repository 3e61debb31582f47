#pragma once
// WireGuard configuration as data, rendered and parsed in the INI layout of
// Kilo's `kgctl showconf` (byte for byte) and of `wg showconf`.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/endpoint.h"
#include "core/ip.h"
#include "core/key.h"

namespace kilo {

struct WgPeer {
  Key public_key;
  std::optional<Key> preshared_key;
  std::optional<Endpoint> endpoint;
  int persistent_keepalive = 0;  // seconds
  std::vector<IPPrefix> allowed_ips;

  friend bool operator==(const WgPeer&, const WgPeer&) = default;
};

struct WgConf {
  bool has_interface = false;
  std::optional<Key> private_key;  // omitted from output when absent or zero
  int listen_port = 0;
  std::vector<WgPeer> peers;

  // Kilo's layout: [Interface] (PrivateKey, ListenPort), then one [Peer] per
  // peer (AllowedIPs, Endpoint, PersistentKeepalive, PresharedKey, PublicKey),
  // blank line between sections.
  std::string Render() const;
  // The pieces of Render(), for writing a config without holding it whole:
  // the [Interface] section, and one [Peer] section (preceded by the blank
  // line when `first` is false). `extra` allowed IPs follow `allowed_ips`.
  static void AppendInterface(const std::optional<Key>& private_key, int listen_port,
                              std::string* out);
  static void AppendPeer(const Key& public_key, const std::optional<Key>& preshared_key,
                         const std::optional<Endpoint>& endpoint, int persistent_keepalive,
                         const std::vector<IPPrefix>& allowed_ips,
                         const std::vector<IPPrefix>* extra, bool first, std::string* out);
  // Parses INI text (`wg showconf` or Kilo's). Unknown keys and malformed
  // values are skipped, as wg-quick-style parsers do; `errors` collects them.
  static WgConf Parse(std::string_view text, std::vector<std::string>* errors = nullptr);
};

}  // namespace kilo
