#include "wg/genl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <netinet/in.h>
#include <string.h>

#include <cstring>

#include "netlink/mnl_util.h"
#include "netlink/socket.h"

namespace kilo::wg {
namespace genl {

namespace {

// One peer as it travels on the wire, for both SET requests and GET replies.
struct WirePeer {
  Key public_key;
  uint32_t flags = 0;
  std::optional<Key> preshared_key;
  std::optional<WgEndpoint> endpoint;
  std::optional<uint16_t> keepalive;
  std::vector<IPPrefix> allowed_ips;
  bool stats = false;  // GET replies only
  int64_t hs_sec = 0, hs_nsec = 0;
  uint64_t rx = 0, tx = 0;
};

struct WireDevice {
  std::string ifname;
  uint32_t ifindex = 0;
  std::optional<Key> private_key, public_key;
  std::optional<uint16_t> listen_port;
  std::optional<uint32_t> fwmark;
  uint32_t flags = 0;
  std::vector<WirePeer> peers;
};

nlmsghdr* StartMessage(Message* buf, size_t max, uint16_t family, uint8_t cmd, uint16_t flags) {
  buf->assign(max, 0);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf->data());
  nlh->nlmsg_type = family;
  nlh->nlmsg_flags = flags;
  auto* g = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
  g->cmd = cmd;
  g->version = WG_GENL_VERSION;
  return nlh;
}

bool PutEndpoint(nlmsghdr* nlh, size_t max, uint16_t type, const WgEndpoint& ep) {
  if (ep.ip.is4()) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(ep.port);
    memcpy(&sa.sin_addr, ep.ip.data(), 4);
    return mnl_attr_put_check(nlh, max, type, sizeof(sa), &sa);
  }
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(ep.port);
  memcpy(&sa.sin6_addr, ep.ip.data(), 16);
  return mnl_attr_put_check(nlh, max, type, sizeof(sa), &sa);
}

std::optional<WgEndpoint> GetEndpoint(const nlattr* a) {
  size_t len = mnl_attr_get_payload_len(a);
  const void* p = mnl_attr_get_payload(a);
  if (len >= sizeof(sockaddr_in) && static_cast<const sockaddr*>(p)->sa_family == AF_INET) {
    sockaddr_in sa;
    memcpy(&sa, p, sizeof(sa));
    return WgEndpoint{IPAddr::FromBytes(reinterpret_cast<uint8_t*>(&sa.sin_addr), 4),
                      ntohs(sa.sin_port)};
  }
  if (len >= sizeof(sockaddr_in6) && static_cast<const sockaddr*>(p)->sa_family == AF_INET6) {
    sockaddr_in6 sa;
    memcpy(&sa, p, sizeof(sa));
    return WgEndpoint{IPAddr::FromBytes(reinterpret_cast<uint8_t*>(&sa.sin6_addr), 16),
                      ntohs(sa.sin6_port)};
  }
  return std::nullopt;
}

bool PutKey(nlmsghdr* nlh, size_t max, uint16_t type, const Key& k) {
  return mnl_attr_put_check(nlh, max, type, Key::kLen, k.bytes().data());
}

std::optional<Key> GetKey(const nlattr* a) {
  if (mnl_attr_get_payload_len(a) != Key::kLen) return std::nullopt;
  std::array<uint8_t, Key::kLen> b;
  memcpy(b.data(), mnl_attr_get_payload(a), Key::kLen);
  return Key(b);
}

// The splitting algorithm of wireguard-tools' kernel_set_device(), for both
// directions. `is_reply` adds stats and NLM_F_MULTI like the kernel's dump.
Result<std::vector<Message>> Build(uint16_t family, uint8_t cmd, uint16_t nlflags,
                                   const WireDevice& d, size_t max, bool is_reply) {
  std::vector<Message> out;
  size_t pi = 0;  // next peer
  size_t ai = 0;  // next allowed IP of peer `pi` (0: the peer has not started)
  bool first = true;
  do {
    Message buf;
    nlmsghdr* nlh = StartMessage(&buf, max, family, cmd, nlflags);
    if (is_reply && d.ifindex) mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, d.ifindex);
    mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, d.ifname.c_str());
    if (first) {
      if (d.private_key) PutKey(nlh, max, WGDEVICE_A_PRIVATE_KEY, *d.private_key);
      if (d.public_key) PutKey(nlh, max, WGDEVICE_A_PUBLIC_KEY, *d.public_key);
      if (d.listen_port) mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, *d.listen_port);
      if (d.fwmark) mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, *d.fwmark);
      // REPLACE_PEERS only in the first message: repeated, it would delete the
      // peers that the previous messages just added.
      if (d.flags) mnl_attr_put_u32(nlh, WGDEVICE_A_FLAGS, d.flags);
    }
    first = false;
    const size_t start_pi = pi, start_ai = ai;
    if (pi < d.peers.size()) {
      nlattr* peers = mnl_attr_nest_start_check(nlh, max, WGDEVICE_A_PEERS);
      if (!peers) return Status::Error("wireguard netlink: message too small for any peer");
      for (; pi < d.peers.size(); ++pi, ai = 0) {
        const WirePeer& p = d.peers[pi];
        nlattr* peer = mnl_attr_nest_start_check(nlh, max, 0);
        bool ok = peer && PutKey(nlh, max, WGPEER_A_PUBLIC_KEY, p.public_key);
        if (ok) {
          uint32_t flags = p.flags;
          // A continuation must not replace the allowed IPs the first part added.
          if (ai > 0) flags &= ~static_cast<uint32_t>(WGPEER_F_REPLACE_ALLOWEDIPS);
          if (ai == 0) {
            if (p.preshared_key)
              ok = ok && PutKey(nlh, max, WGPEER_A_PRESHARED_KEY, *p.preshared_key);
            if (p.endpoint) ok = ok && PutEndpoint(nlh, max, WGPEER_A_ENDPOINT, *p.endpoint);
            if (p.keepalive)
              ok = ok && mnl_attr_put_check(nlh, max, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
                                            sizeof(uint16_t), &*p.keepalive);
            if (p.stats) {
              int64_t ts[2] = {p.hs_sec, p.hs_nsec};
              uint32_t version = 1;
              ok = ok && mnl_attr_put_check(nlh, max, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), ts);
              ok = ok && mnl_attr_put_check(nlh, max, WGPEER_A_RX_BYTES, 8, &p.rx);
              ok = ok && mnl_attr_put_check(nlh, max, WGPEER_A_TX_BYTES, 8, &p.tx);
              ok = ok && mnl_attr_put_check(nlh, max, WGPEER_A_PROTOCOL_VERSION, 4, &version);
            }
          }
          if (flags) ok = ok && mnl_attr_put_check(nlh, max, WGPEER_A_FLAGS, 4, &flags);
        }
        if (!ok) {
          // toobig_peers: drop the partial peer, send what we have.
          if (peer) mnl_attr_nest_cancel(nlh, peer);
          break;
        }
        bool toobig = false;
        if (ai < p.allowed_ips.size()) {
          nlattr* aips = mnl_attr_nest_start_check(nlh, max, WGPEER_A_ALLOWEDIPS);
          if (!aips) {
            toobig = true;
          } else {
            for (; ai < p.allowed_ips.size(); ++ai) {
              const IPPrefix net = p.allowed_ips[ai].Network();
              nlattr* aip = mnl_attr_nest_start_check(nlh, max, 0);
              uint16_t fam = net.addr().is4() ? AF_INET : AF_INET6;
              uint8_t cidr = static_cast<uint8_t>(net.bits());
              bool aok = aip && mnl_attr_put_check(nlh, max, WGALLOWEDIP_A_FAMILY, 2, &fam) &&
                         mnl_attr_put_check(nlh, max, WGALLOWEDIP_A_IPADDR, net.addr().bytelen(),
                                            net.addr().data()) &&
                         mnl_attr_put_check(nlh, max, WGALLOWEDIP_A_CIDR_MASK, 1, &cidr);
              if (!aok) {
                if (aip) mnl_attr_nest_cancel(nlh, aip);
                toobig = true;
                break;
              }
              mnl_attr_nest_end(nlh, aip);
            }
            mnl_attr_nest_end(nlh, aips);
          }
        }
        mnl_attr_nest_end(nlh, peer);
        if (toobig) break;  // toobig_allowedips: continue this peer in the next message
      }
      mnl_attr_nest_end(nlh, peers);
      if (pi == start_pi && ai == start_ai && pi < d.peers.size())
        return Status::Error("wireguard netlink: one peer does not fit in " + std::to_string(max) +
                             " bytes");
    }
    buf.resize(nlh->nlmsg_len);
    out.push_back(std::move(buf));
  } while (pi < d.peers.size());
  if (is_reply) {
    for (auto& m : out) reinterpret_cast<nlmsghdr*>(m.data())->nlmsg_flags |= NLM_F_MULTI;
  }
  return out;
}

const nlattr* Payload(const uint8_t* msg, size_t len, const nlmsghdr** out) {
  auto* nlh = reinterpret_cast<const nlmsghdr*>(msg);
  if (len < sizeof(nlmsghdr) || nlh->nlmsg_len > len || nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
    return nullptr;
  *out = nlh;
  return static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, GENL_HDRLEN));
}

Status ParsePeer(const nlattr* nest, WirePeer* p) {
  const nlattr* a;
  bool have_key = false;
  KILO_ATTR_FOR_EACH_NESTED(a, nest) {
    switch (mnl_attr_get_type(a)) {
      case WGPEER_A_PUBLIC_KEY: {
        auto k = GetKey(a);
        if (!k) return Status::Error("bad peer public key length");
        p->public_key = *k;
        have_key = true;
        break;
      }
      case WGPEER_A_PRESHARED_KEY: {
        auto k = GetKey(a);
        if (!k) return Status::Error("bad preshared key length");
        p->preshared_key = *k;
        break;
      }
      case WGPEER_A_ENDPOINT:
        p->endpoint = GetEndpoint(a);
        break;
      case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
        if (mnl_attr_validate(a, MNL_TYPE_U16) < 0) return Status::Error("bad keepalive");
        p->keepalive = mnl_attr_get_u16(a);
        break;
      case WGPEER_A_FLAGS:
        if (mnl_attr_validate(a, MNL_TYPE_U32) < 0) return Status::Error("bad peer flags");
        p->flags = mnl_attr_get_u32(a);
        break;
      case WGPEER_A_LAST_HANDSHAKE_TIME:
        if (mnl_attr_get_payload_len(a) == 16) {
          int64_t ts[2];
          memcpy(ts, mnl_attr_get_payload(a), sizeof(ts));
          p->hs_sec = ts[0];
          p->hs_nsec = ts[1];
          p->stats = true;
        }
        break;
      case WGPEER_A_RX_BYTES:
        if (mnl_attr_validate(a, MNL_TYPE_U64) == 0) p->rx = mnl_attr_get_u64(a);
        break;
      case WGPEER_A_TX_BYTES:
        if (mnl_attr_validate(a, MNL_TYPE_U64) == 0) p->tx = mnl_attr_get_u64(a);
        break;
      case WGPEER_A_ALLOWEDIPS: {
        const nlattr* aip;
        KILO_ATTR_FOR_EACH_NESTED(aip, a) {
          const nlattr* f;
          int family = 0, cidr = -1;
          const uint8_t* addr = nullptr;
          size_t addr_len = 0;
          KILO_ATTR_FOR_EACH_NESTED(f, aip) {
            switch (mnl_attr_get_type(f)) {
              case WGALLOWEDIP_A_FAMILY:
                if (mnl_attr_validate(f, MNL_TYPE_U16) == 0) family = mnl_attr_get_u16(f);
                break;
              case WGALLOWEDIP_A_IPADDR:
                addr = static_cast<const uint8_t*>(mnl_attr_get_payload(f));
                addr_len = mnl_attr_get_payload_len(f);
                break;
              case WGALLOWEDIP_A_CIDR_MASK:
                if (mnl_attr_validate(f, MNL_TYPE_U8) == 0) cidr = mnl_attr_get_u8(f);
                break;
            }
          }
          size_t want = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
          if (!want || !addr || addr_len != want || cidr < 0 || cidr > static_cast<int>(want * 8))
            return Status::Error("malformed allowed IP attribute");
          // A mapped IPv6 prefix shorter than /96 has no IPv4 form: skipped.
          if (auto pfx = IPPrefix::FromBytes(addr, static_cast<int>(want), cidr))
            p->allowed_ips.push_back(*pfx);
        }
        break;
      }
      default:
        break;  // newer attributes: ignore
    }
  }
  if (!have_key) return Status::Error("peer without public key");
  return Status::Ok();
}

// Parses one message into `d`, merging a peer continued from the previous message.
Status ParseWire(const uint8_t* msg, size_t len, uint8_t want_cmd, WireDevice* d) {
  const nlmsghdr* nlh;
  if (!Payload(msg, len, &nlh)) return Status::Error("short wireguard netlink message");
  auto* g = static_cast<const genlmsghdr*>(mnl_nlmsg_get_payload(nlh));
  if (g->cmd != want_cmd) return Status::Error("unexpected wireguard netlink command");
  const nlattr* a;
  KILO_ATTR_FOR_EACH(a, nlh, GENL_HDRLEN) {
    switch (mnl_attr_get_type(a)) {
      case WGDEVICE_A_IFINDEX:
        if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) d->ifindex = mnl_attr_get_u32(a);
        break;
      case WGDEVICE_A_IFNAME:
        if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) d->ifname = mnl_attr_get_str(a);
        break;
      case WGDEVICE_A_PRIVATE_KEY:
        d->private_key = GetKey(a);
        break;
      case WGDEVICE_A_PUBLIC_KEY:
        d->public_key = GetKey(a);
        break;
      case WGDEVICE_A_LISTEN_PORT:
        if (mnl_attr_validate(a, MNL_TYPE_U16) == 0) d->listen_port = mnl_attr_get_u16(a);
        break;
      case WGDEVICE_A_FWMARK:
        if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) d->fwmark = mnl_attr_get_u32(a);
        break;
      case WGDEVICE_A_FLAGS:
        if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) d->flags |= mnl_attr_get_u32(a);
        break;
      case WGDEVICE_A_PEERS: {
        const nlattr* pa;
        KILO_ATTR_FOR_EACH_NESTED(pa, a) {
          WirePeer p;
          Status s = ParsePeer(pa, &p);
          if (!s.ok()) return s;
          // The kernel (and BuildSetDevice) repeat the last peer of a message
          // at the start of the next when its allowed IPs did not fit.
          if (!d->peers.empty() && d->peers.back().public_key == p.public_key) {
            auto& last = d->peers.back();
            last.allowed_ips.insert(last.allowed_ips.end(), p.allowed_ips.begin(),
                                    p.allowed_ips.end());
            continue;
          }
          d->peers.push_back(std::move(p));
        }
        break;
      }
      default:
        break;
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<Message>> BuildSetDevice(uint16_t family_id, const std::string& iface,
                                            const WgDeviceUpdate& u, size_t max_size) {
  WireDevice d;
  d.ifname = iface;
  d.private_key = u.private_key;
  if (u.listen_port) d.listen_port = static_cast<uint16_t>(*u.listen_port);
  d.fwmark = u.fwmark;
  if (u.replace_peers) d.flags |= WGDEVICE_F_REPLACE_PEERS;
  for (const auto& p : u.peers) {
    WirePeer w;
    w.public_key = p.public_key;
    if (p.remove) w.flags |= WGPEER_F_REMOVE_ME;
    if (p.update_only) w.flags |= WGPEER_F_UPDATE_ONLY;
    if (p.replace_allowed_ips) w.flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
    w.preshared_key = p.preshared_key;
    w.endpoint = p.endpoint;
    if (p.persistent_keepalive) w.keepalive = static_cast<uint16_t>(*p.persistent_keepalive);
    w.allowed_ips = p.allowed_ips;
    d.peers.push_back(std::move(w));
  }
  return Build(family_id, WG_CMD_SET_DEVICE, NLM_F_REQUEST | NLM_F_ACK, d, max_size, false);
}

Message BuildGetDevice(uint16_t family_id, const std::string& iface) {
  Message buf;
  nlmsghdr* nlh = StartMessage(&buf, MNL_SOCKET_BUFFER_SIZE, family_id, WG_CMD_GET_DEVICE,
                               NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP);
  mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, iface.c_str());
  buf.resize(nlh->nlmsg_len);
  return buf;
}

Result<std::vector<Message>> BuildGetDeviceReply(uint16_t family_id, const WgDevice& dev,
                                                 size_t max_size) {
  WireDevice d;
  d.ifname = dev.name;
  d.ifindex = static_cast<uint32_t>(dev.ifindex);
  if (!dev.private_key.IsZero()) {
    d.private_key = dev.private_key;
    d.public_key = dev.public_key;
  }
  d.listen_port = static_cast<uint16_t>(dev.listen_port);
  d.fwmark = dev.fwmark;
  for (const auto& p : dev.peers) {
    WirePeer w;
    w.public_key = p.public_key;
    w.preshared_key = p.preshared_key;
    w.endpoint = p.endpoint;
    w.keepalive = static_cast<uint16_t>(p.persistent_keepalive);
    w.allowed_ips = p.allowed_ips;
    w.stats = true;
    w.hs_sec = p.last_handshake_unix;
    w.hs_nsec = p.last_handshake_nsec;
    w.rx = p.rx_bytes;
    w.tx = p.tx_bytes;
    d.peers.push_back(std::move(w));
  }
  return Build(family_id, WG_CMD_GET_DEVICE, 0, d, max_size, true);
}

Status ParseGetDevice(const uint8_t* msg, size_t len, WgDevice* dev) {
  // Re-parse into the wire form, then fold into the WgDevice; keep the previous
  // last peer so that a continuation merges across messages.
  WireDevice d;
  if (!dev->peers.empty()) {
    WirePeer last;
    last.public_key = dev->peers.back().public_key;
    d.peers.push_back(last);
  }
  Status s = ParseWire(msg, len, WG_CMD_GET_DEVICE, &d);
  if (!s.ok()) return s.Wrap("parse wireguard device");
  if (!d.ifname.empty()) dev->name = d.ifname;
  if (d.ifindex) dev->ifindex = static_cast<int>(d.ifindex);
  if (d.private_key) dev->private_key = *d.private_key;
  if (d.public_key) dev->public_key = *d.public_key;
  if (d.listen_port) dev->listen_port = *d.listen_port;
  if (d.fwmark) dev->fwmark = *d.fwmark;
  size_t i = 0;
  if (!dev->peers.empty()) {
    auto& last = dev->peers.back();
    last.allowed_ips.insert(last.allowed_ips.end(), d.peers[0].allowed_ips.begin(),
                            d.peers[0].allowed_ips.end());
    i = 1;
  }
  for (; i < d.peers.size(); ++i) {
    const WirePeer& w = d.peers[i];
    WgPeerStatus p;
    p.public_key = w.public_key;
    if (w.preshared_key) p.preshared_key = *w.preshared_key;
    p.endpoint = w.endpoint;
    p.persistent_keepalive = w.keepalive.value_or(0);
    p.last_handshake_unix = w.hs_sec;
    p.last_handshake_nsec = w.hs_nsec;
    p.rx_bytes = w.rx;
    p.tx_bytes = w.tx;
    p.allowed_ips = w.allowed_ips;
    dev->peers.push_back(std::move(p));
  }
  return Status::Ok();
}

Result<WgDeviceUpdate> ParseSetDevice(const std::vector<Message>& msgs, std::string* iface) {
  WireDevice d;
  for (const auto& m : msgs) {
    Status s = ParseWire(m.data(), m.size(), WG_CMD_SET_DEVICE, &d);
    if (!s.ok()) return s;
  }
  if (iface) *iface = d.ifname;
  WgDeviceUpdate u;
  u.private_key = d.private_key;
  if (d.listen_port) u.listen_port = *d.listen_port;
  u.fwmark = d.fwmark;
  u.replace_peers = d.flags & WGDEVICE_F_REPLACE_PEERS;
  for (const auto& w : d.peers) {
    WgPeerUpdate p;
    p.public_key = w.public_key;
    p.remove = w.flags & WGPEER_F_REMOVE_ME;
    p.update_only = w.flags & WGPEER_F_UPDATE_ONLY;
    p.replace_allowed_ips = w.flags & WGPEER_F_REPLACE_ALLOWEDIPS;
    p.preshared_key = w.preshared_key;
    p.endpoint = w.endpoint;
    if (w.keepalive) p.persistent_keepalive = *w.keepalive;
    p.allowed_ips = w.allowed_ips;
    u.peers.push_back(std::move(p));
  }
  return u;
}

Message BuildGetFamily(const std::string& name) {
  Message buf(MNL_SOCKET_BUFFER_SIZE, 0);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = GENL_ID_CTRL;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  auto* g = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
  g->cmd = CTRL_CMD_GETFAMILY;
  g->version = 1;
  mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, name.c_str());
  buf.resize(nlh->nlmsg_len);
  return buf;
}

Result<uint16_t> ParseFamilyId(const uint8_t* msg, size_t len) {
  const nlmsghdr* nlh;
  if (!Payload(msg, len, &nlh)) return Status::Error("short genetlink ctrl message");
  const nlattr* a;
  KILO_ATTR_FOR_EACH(a, nlh, GENL_HDRLEN) {
    if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID && mnl_attr_validate(a, MNL_TYPE_U16) == 0)
      return mnl_attr_get_u16(a);
  }
  return Status::Error("genetlink ctrl reply without family id");
}

}  // namespace genl

GenlClient::GenlClient() = default;
GenlClient::~GenlClient() = default;

Status GenlClient::Init() {
  if (sock_ && family_) return Status::Ok();
  if (!sock_) {
    auto s = netlink::NetlinkSocket::Open(NETLINK_GENERIC);
    if (!s.ok()) return s.status();
    sock_ = std::move(*s);
  }
  genl::Message req = genl::BuildGetFamily(WG_GENL_NAME);
  uint16_t id = 0;
  Status perr;
  auto r = sock_->Transact(reinterpret_cast<nlmsghdr*>(req.data()), [&](const nlmsghdr* nlh) {
    auto f = genl::ParseFamilyId(reinterpret_cast<const uint8_t*>(nlh), nlh->nlmsg_len);
    if (f.ok()) id = *f;
    return Status::Ok();
  });
  if (!r.ok()) return r.status();
  // The controller answers ENOENT for an unknown family: the module is not
  // loaded (and could not be auto-loaded).
  if (r->error == ENOENT || (r->error == 0 && id == 0))
    return Status::Error(
        "wireguard kernel module not available (genetlink family 'wireguard' not found)");
  if (r->error)
    return Status::Error(std::string("resolve genetlink family 'wireguard': ") +
                         strerror(r->error));
  family_ = id;
  return Status::Ok();
}

Result<WgDevice> GenlClient::Get(const std::string& iface) {
  MutexLock l(&mu_);
  Status s = Init();
  if (!s.ok()) return s.Wrap("get " + iface);
  // The device's peer list can change while a multi-part dump is in flight;
  // the kernel flags that with NLM_F_DUMP_INTR, and we retry.
  for (int attempt = 0; attempt < 5; ++attempt) {
    genl::Message req = genl::BuildGetDevice(family_, iface);
    WgDevice d;
    auto r = sock_->Transact(reinterpret_cast<nlmsghdr*>(req.data()), [&](const nlmsghdr* nlh) {
      return genl::ParseGetDevice(reinterpret_cast<const uint8_t*>(nlh), nlh->nlmsg_len, &d);
    });
    if (!r.ok()) return r.status().Wrap("get " + iface);
    if (r->error) return Status::Error("get " + iface + ": " + strerror(r->error));
    if (r->dump_interrupted) continue;
    if (!d.private_key.IsZero() && d.public_key.IsZero()) d.public_key = d.private_key.Public();
    if (d.name.empty()) d.name = iface;
    return d;
  }
  return Status::Error("get " + iface + ": dump interrupted repeatedly");
}

Status GenlClient::Set(const std::string& iface, const WgDeviceUpdate& update) {
  MutexLock l(&mu_);
  Status s = Init();
  if (!s.ok()) return s.Wrap("set " + iface);
  auto msgs = genl::BuildSetDevice(family_, iface, update);
  if (!msgs.ok()) return msgs.status().Wrap("set " + iface);
  for (auto& m : *msgs) {
    auto r = sock_->Transact(reinterpret_cast<nlmsghdr*>(m.data()));
    if (!r.ok()) return r.status().Wrap("set " + iface);
    if (r->error) return Status::Error("set " + iface + ": " + strerror(r->error));
  }
  return Status::Ok();
}

bool GenlClient::Exists(const std::string& iface) { return Get(iface).ok(); }

}  // namespace kilo::wg
