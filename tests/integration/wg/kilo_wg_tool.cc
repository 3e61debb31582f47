// Test driver for the netns integration test (wg.bats): applies a wg-quick
// style INI file to a device through kilo::wg and reports what was written.
//
//   kilo_wg_tool [--backend auto|uapi|genl] apply IFACE FILE
//   kilo_wg_tool [--backend ...] get IFACE
//
// `apply` prints one line per written peer ("write peer <key> ...") and then
// "writes=N"; N is 0 when the device already matched.

#include <fstream>
#include <iostream>
#include <sstream>

#include "wg/genl.h"
#include "wg/uapi.h"
#include "wg/wireguard.h"

using namespace kilo;
using namespace kilo::wg;

namespace {

std::string Trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t\r"));
  s.erase(s.find_last_not_of(" \t\r") + 1);
  return s;
}

Result<WgDeviceConfig> ParseIni(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::Error("cannot read " + path);
  WgDeviceConfig c;
  WgPeerConfig* peer = nullptr;
  std::string line;
  while (std::getline(in, line)) {
    line = Trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    if (line == "[Interface]") continue;
    if (line == "[Peer]") {
      c.peers.emplace_back();
      peer = &c.peers.back();
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos) return Status::Error("bad line: " + line);
    std::string k = Trim(line.substr(0, eq)), v = Trim(line.substr(eq + 1));
    if (!peer) {
      if (k == "PrivateKey")
        c.private_key = Key::Parse(v);
      else if (k == "ListenPort")
        c.listen_port = std::stoi(v);
      continue;
    }
    if (k == "PublicKey") {
      auto key = Key::Parse(v);
      if (!key) return Status::Error("bad PublicKey");
      peer->public_key = *key;
    } else if (k == "PresharedKey") {
      peer->preshared_key = Key::Parse(v);
    } else if (k == "Endpoint") {
      peer->endpoint = WgEndpoint::Parse(v);
      if (!peer->endpoint) return Status::Error("bad Endpoint " + v);
    } else if (k == "PersistentKeepalive") {
      peer->persistent_keepalive = std::stoi(v);
    } else if (k == "AllowedIPs") {
      std::stringstream ss(v);
      std::string item;
      while (std::getline(ss, item, ',')) {
        auto p = IPPrefix::Parse(Trim(item));
        if (!p) return Status::Error("bad AllowedIPs entry " + item);
        peer->allowed_ips.push_back(*p);
      }
    }
  }
  for (const auto& p : c.peers)
    if (p.public_key.IsZero()) return Status::Error("a [Peer] without PublicKey");
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string backend = "auto";
  if (args.size() >= 2 && args[0] == "--backend") {
    backend = args[1];
    args.erase(args.begin(), args.begin() + 2);
  }
  std::unique_ptr<WireGuardClient> c;
  if (backend == "uapi")
    c = std::make_unique<UapiClient>();
  else if (backend == "genl")
    c = std::make_unique<GenlClient>();
  else
    c = NewWireGuardClient();

  if (args.size() == 2 && args[0] == "get") {
    auto d = c->Get(args[1]);
    if (!d.ok()) {
      std::cerr << d.error() << "\n";
      return 1;
    }
    std::cout << d->DebugString();
    return 0;
  }
  if (args.size() == 3 && args[0] == "apply") {
    auto conf = ParseIni(args[2]);
    if (!conf.ok()) {
      std::cerr << conf.error() << "\n";
      return 2;
    }
    // Apply() = Get + ComputeUpdate + Set; done in steps here to show the writes.
    auto cur = c->Get(args[1]);
    if (!cur.ok()) {
      std::cerr << cur.error() << "\n";
      return 1;
    }
    WgDeviceUpdate u = ComputeUpdate(*cur, *conf);
    if (u.private_key) std::cout << "write private_key\n";
    if (u.listen_port) std::cout << "write listen_port " << *u.listen_port << "\n";
    for (const auto& p : u.peers)
      std::cout << "write peer " << p.public_key.String() << (p.remove ? " remove" : "")
                << (p.replace_allowed_ips ? " allowed_ips" : "") << "\n";
    if (!u.empty()) {
      Status s = c->Set(args[1], u);
      if (!s.ok()) {
        std::cerr << s.message() << "\n";
        return 1;
      }
    }
    std::cout << "writes=" << u.Writes() << "\n";
    return 0;
  }
  std::cerr << "usage: kilo_wg_tool [--backend auto|uapi|genl] apply IFACE FILE | get IFACE\n";
  return 2;
}
