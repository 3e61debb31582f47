#include "wg/wireguard.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <sstream>

namespace kilo::wg {

std::string WgEndpoint::String() const {
  if (ip.is6()) return "[" + ip.String() + "]:" + std::to_string(port);
  return ip.String() + ":" + std::to_string(port);
}

std::optional<WgEndpoint> WgEndpoint::Parse(const std::string& s) {
  std::string host, port;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return std::nullopt;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
    // wireguard-go prints link-local endpoints with a zone ("[fe80::1%eth0]").
    if (size_t pct = host.find('%'); pct != std::string::npos) host.resize(pct);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  auto ip = IPAddr::Parse(host);
  if (!ip) return std::nullopt;
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p > 65535) return std::nullopt;
  return WgEndpoint{*ip, static_cast<uint16_t>(p)};
}

std::string WgDevice::DebugString() const {
  std::ostringstream o;
  o << "interface " << name << " private_key " << (private_key.IsZero() ? "(none)" : "(hidden)")
    << " public_key " << public_key.String() << " listen_port " << listen_port << " fwmark "
    << fwmark << "\n";
  for (const auto& p : peers) {
    o << "peer " << p.public_key.String();
    if (!p.preshared_key.IsZero()) o << " preshared_key (hidden)";
    if (p.endpoint) o << " endpoint " << p.endpoint->String();
    if (p.persistent_keepalive) o << " keepalive " << p.persistent_keepalive;
    o << " allowed_ips";
    for (const auto& a : p.allowed_ips) o << " " << a.String();
    o << "\n";
  }
  return o.str();
}

int WgDeviceUpdate::Writes() const {
  return (private_key ? 1 : 0) + (listen_port ? 1 : 0) + (fwmark ? 1 : 0) +
         static_cast<int>(peers.size());
}

namespace {

std::set<IPPrefix> NetworkSet(const std::vector<IPPrefix>& v) {
  std::set<IPPrefix> s;
  for (const auto& p : v) s.insert(p.Network());
  return s;
}

Key OrZero(const std::optional<Key>& k) { return k ? *k : Key(); }

}  // namespace

WgDeviceUpdate ComputeUpdate(const WgDevice& current, const WgDeviceConfig& desired) {
  WgDeviceUpdate u;
  if (desired.private_key && *desired.private_key != current.private_key)
    u.private_key = desired.private_key;
  if (desired.listen_port != 0 && desired.listen_port != current.listen_port)
    u.listen_port = desired.listen_port;
  if (desired.fwmark && *desired.fwmark != current.fwmark) u.fwmark = desired.fwmark;

  std::map<Key, const WgPeerStatus*> cur;
  for (const auto& p : current.peers) cur[p.public_key] = &p;
  std::set<Key> want;
  for (const auto& p : desired.peers) want.insert(p.public_key);

  // Removals first: a removed peer frees its allowed IPs for the peers added
  // after it in the same transaction (allowed IPs are unique per device).
  for (const auto& p : current.peers) {
    if (!want.count(p.public_key)) {
      WgPeerUpdate r;
      r.public_key = p.public_key;
      r.remove = true;
      u.peers.push_back(std::move(r));
    }
  }
  std::set<Key> seen;
  for (const auto& d : desired.peers) {
    if (!seen.insert(d.public_key).second) continue;  // duplicate: first wins
    auto it = cur.find(d.public_key);
    WgPeerUpdate w;
    w.public_key = d.public_key;
    if (it == cur.end()) {
      if (d.preshared_key && !d.preshared_key->IsZero()) w.preshared_key = d.preshared_key;
      w.endpoint = d.endpoint;
      if (d.persistent_keepalive) w.persistent_keepalive = d.persistent_keepalive;
      w.replace_allowed_ips = true;
      w.allowed_ips = d.allowed_ips;
      u.peers.push_back(std::move(w));
      continue;
    }
    const WgPeerStatus& c = *it->second;
    bool changed = false;
    w.update_only = true;
    if (OrZero(d.preshared_key) != c.preshared_key) {
      w.preshared_key = OrZero(d.preshared_key);
      changed = true;
    }
    if (d.endpoint && (!c.endpoint || *c.endpoint != *d.endpoint)) {
      w.endpoint = d.endpoint;
      changed = true;
    }
    if (d.persistent_keepalive != c.persistent_keepalive) {
      w.persistent_keepalive = d.persistent_keepalive;
      changed = true;
    }
    if (NetworkSet(d.allowed_ips) != NetworkSet(c.allowed_ips)) {
      w.replace_allowed_ips = true;
      w.allowed_ips = d.allowed_ips;
      changed = true;
    }
    if (changed) u.peers.push_back(std::move(w));
  }
  return u;
}

WgDeviceUpdate FullUpdate(const WgDeviceConfig& desired) {
  WgDeviceUpdate u;
  u.private_key = desired.private_key;
  if (desired.listen_port) u.listen_port = desired.listen_port;
  u.fwmark = desired.fwmark;
  u.replace_peers = true;
  for (const auto& d : desired.peers) {
    WgPeerUpdate w;
    w.public_key = d.public_key;
    if (d.preshared_key && !d.preshared_key->IsZero()) w.preshared_key = d.preshared_key;
    w.endpoint = d.endpoint;
    if (d.persistent_keepalive) w.persistent_keepalive = d.persistent_keepalive;
    w.replace_allowed_ips = true;
    w.allowed_ips = d.allowed_ips;
    u.peers.push_back(std::move(w));
  }
  return u;
}

std::string DescribeUpdate(const WgDevice& current, const WgDeviceUpdate& u) {
  std::map<Key, const WgPeerStatus*> cur;
  for (const auto& p : current.peers) cur.emplace(p.public_key, &p);
  std::vector<std::string> items;
  if (u.private_key) items.emplace_back("private key");
  if (u.listen_port) items.push_back("listen port " + std::to_string(*u.listen_port));
  if (u.fwmark) items.push_back("fwmark " + std::to_string(*u.fwmark));
  if (u.replace_peers) items.emplace_back("peers replaced");
  for (const auto& w : u.peers) {
    const std::string name = "peer " + w.public_key.String().substr(0, 8);
    auto it = cur.find(w.public_key);
    if (w.remove) {
      items.push_back(name + " removed");
      continue;
    }
    if (it == cur.end() || u.replace_peers) {
      std::string item = name + " added";
      if (w.endpoint) item += " at " + w.endpoint->String();
      items.push_back(std::move(item));
      continue;
    }
    const WgPeerStatus& c = *it->second;
    std::vector<std::string> fields;
    if (w.endpoint)
      fields.push_back("endpoint " + (c.endpoint ? c.endpoint->String() : "(none)") + " -> " +
                       w.endpoint->String());
    if (w.persistent_keepalive)
      fields.push_back("keepalive " + std::to_string(c.persistent_keepalive) + " -> " +
                       std::to_string(*w.persistent_keepalive));
    if (w.preshared_key) fields.emplace_back("preshared key");
    if (w.replace_allowed_ips || !w.allowed_ips.empty()) {
      std::string a = "allowed ips";
      for (const auto& p : w.allowed_ips) a += " " + p.String();
      fields.push_back(std::move(a));
    }
    std::string item = name + ":";
    for (size_t i = 0; i < fields.size(); ++i) item += (i ? ", " : " ") + fields[i];
    items.push_back(std::move(item));
  }
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : "; ") + i;
  return out;
}

}  // namespace kilo::wg
