#include "core/wgconf.h"

#include <optional>

namespace kilo {
namespace {

// A decimal 0-65535 (ListenPort, PersistentKeepalive); nullopt otherwise.
std::optional<int> ParsePort16(std::string_view val) {
  if (val.empty() || val.size() > 5) return std::nullopt;
  int v = 0;
  for (char ch : val) {
    if (ch < '0' || ch > '9') return std::nullopt;
    v = v * 10 + (ch - '0');
  }
  if (v > 65535) return std::nullopt;
  return v;
}

std::string_view Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

void WgConf::AppendInterface(const std::optional<Key>& private_key, int listen_port,
                             std::string* out) {
  *out += "[Interface]\n";
  if (private_key && !private_key->IsZero()) *out += "PrivateKey = " + private_key->String() + "\n";
  *out += "ListenPort = " + std::to_string(listen_port) + "\n";
}

void WgConf::AppendPeer(const Key& public_key, const std::optional<Key>& preshared_key,
                        const std::optional<Endpoint>& endpoint, int persistent_keepalive,
                        const std::vector<IPPrefix>& allowed_ips,
                        const std::vector<IPPrefix>* extra, bool first, std::string* out) {
  if (!first) *out += '\n';
  *out += "[Peer]\n";
  if (!allowed_ips.empty() || (extra && !extra->empty())) {
    *out += "AllowedIPs = ";
    bool sep = false;
    for (const auto* list : {&allowed_ips, extra}) {
      if (!list) continue;
      for (const auto& ip : *list) {
        if (sep) *out += ", ";
        sep = true;
        char buf[IPPrefix::kMaxFormatted];
        out->append(buf, ip.Format(buf));
      }
    }
    *out += '\n';
  }
  if (endpoint && (endpoint->has_ip() || endpoint->has_dns()))
    *out += "Endpoint = " + endpoint->String() + "\n";
  *out += "PersistentKeepalive = " + std::to_string(persistent_keepalive) + "\n";
  if (preshared_key) *out += "PresharedKey = " + preshared_key->String() + "\n";
  *out += "PublicKey = " + public_key.String() + "\n";
}

std::string WgConf::Render() const {
  std::string out;
  out.reserve(64 + peers.size() * 192);
  if (has_interface) AppendInterface(private_key, listen_port, &out);
  for (size_t i = 0; i < peers.size(); ++i) {
    const WgPeer& p = peers[i];
    AppendPeer(p.public_key, p.preshared_key, p.endpoint, p.persistent_keepalive, p.allowed_ips,
               nullptr, i == 0 && !has_interface, &out);
  }
  return out;
}

WgConf WgConf::Parse(std::string_view text, std::vector<std::string>* errors) {
  WgConf c;
  enum { kNone, kIface, kPeer, kOther } section = kNone;
  auto err = [&](size_t line, const std::string& msg) {
    if (errors) errors->push_back("line " + std::to_string(line) + ": " + msg);
  };
  size_t lineno = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view raw = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++lineno;
    size_t hash = raw.find('#');
    std::string_view line = Trim(hash == std::string_view::npos ? raw : raw.substr(0, hash));
    if (line.empty()) continue;
    if (line.front() == '[') {
      std::string_view name = Trim(line.substr(
          1, line.find(']') == std::string_view::npos ? line.npos : line.find(']') - 1));
      if (name == "Interface") {
        section = kIface;
        c.has_interface = true;
      } else if (name == "Peer") {
        section = kPeer;
        c.peers.emplace_back();
      } else {
        section = kOther;
        err(lineno, "unknown section [" + std::string(name) + "]");
      }
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      err(lineno, "expected key = value");
      continue;
    }
    std::string_view key = Trim(line.substr(0, eq));
    std::string_view val = Trim(line.substr(eq + 1));
    if (section == kIface) {
      if (key == "ListenPort") {
        if (auto v = ParsePort16(val))
          c.listen_port = *v;
        else
          err(lineno, "bad ListenPort");
      } else if (key == "PrivateKey") {
        if (auto k = Key::Parse(val))
          c.private_key = *k;
        else
          err(lineno, "bad PrivateKey");
      }
    } else if (section == kPeer) {
      WgPeer& p = c.peers.back();
      if (key == "PublicKey") {
        if (auto k = Key::Parse(val))
          p.public_key = *k;
        else
          err(lineno, "bad PublicKey");
      } else if (key == "PresharedKey") {
        if (auto k = Key::Parse(val))
          p.preshared_key = *k;
        else
          err(lineno, "bad PresharedKey");
      } else if (key == "Endpoint") {
        if (auto e = Endpoint::Parse(val))
          p.endpoint = *e;
        else
          err(lineno, "bad Endpoint");
      } else if (key == "PersistentKeepalive") {
        if (val == "off") {
          p.persistent_keepalive = 0;
          continue;
        }
        if (auto v = ParsePort16(val)) {
          p.persistent_keepalive = *v;
        } else {
          err(lineno, "bad PersistentKeepalive");
        }
      } else if (key == "AllowedIPs") {
        size_t start = 0;
        while (start <= val.size()) {
          size_t comma = val.find(',', start);
          std::string_view item =
              Trim(val.substr(start, comma == std::string_view::npos ? val.npos : comma - start));
          if (!item.empty()) {
            if (auto pfx = IPPrefix::Parse(item))
              p.allowed_ips.push_back(*pfx);
            else
              err(lineno, "bad AllowedIPs entry " + std::string(item));
          }
          if (comma == std::string_view::npos) break;
          start = comma + 1;
        }
      }
    }
  }
  return c;
}

}  // namespace kilo
