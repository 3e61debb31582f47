// Netlink replies as the kernel sends them: one received datagram (a stream
// of nlmsghdr) -> netlink::ScanReply (what NetlinkSocket::Transact does with
// each datagram: seq/portid filter, NLMSG_ERROR, NLMSG_DONE, DUMP_INTR) ->
// every data message through the rtnetlink parsers (rtnl::ParseLink,
// ParseAddress, ParseRoute, ParseRule) and the WireGuard generic-netlink ones
// (genl::ParseGetDevice, ParseFamilyId). The parsed state is then served by a
// read-only NetlinkClient to discovery (CollectHostAddresses,
// DefaultRouteInterface, SelectIPs, AutoMTU).
//
// The request's seq and portid are taken from the first message so that the
// messages are not all skipped as stale.
//
// Checks: no crash/UB (the datagram is an exact-size heap copy, so reading
// past a truncated message is an ASan report); every parsed object survives
// Build* -> Parse* (routes and rules Equivalent, addresses and links equal,
// the WireGuard device equal after BuildGetDeviceReply -> ParseGetDevice);
// Route::String parses back; discovery picks only addresses it was given.

#include <linux/fib_rules.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fakes/netlink/snapshot_netlink.h"
#include "fuzz_common.h"
#include "netlink/discovery.h"
#include "netlink/rtnl.h"
#include "netlink/socket.h"
#include "wg/genl.h"

using namespace kilo;
using namespace kilo::netlink;
namespace genl = kilo::wg::genl;

namespace {

using kilo::netlink::testing::SnapshotNetlink;

const nlmsghdr* Hdr(const std::vector<uint8_t>& m) {
  return reinterpret_cast<const nlmsghdr*>(m.data());
}

bool InRange(const IPPrefix& p) {
  return p.valid() && p.bits() >= 0 && p.bits() <= p.addr().bitlen();
}

bool HasSpace(const std::string& s) {
  return s.empty() || std::any_of(s.begin(), s.end(), [](char c) {
           return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
                  c == '\0';
         });
}

void CheckRoute(const Route& r) {
  auto m = rtnl::BuildRoute(RTM_NEWROUTE, NLM_F_REQUEST, r);
  auto back = rtnl::ParseRoute(Hdr(m));
  FUZZ_CHECK(back.ok() && *back, "built route does not parse: %s", r.String().c_str());
  FUZZ_CHECK((*back)->Equivalent(r), "route round trip: %s -> %s", r.String().c_str(),
             (*back)->String().c_str());
  // The text form (tests, kgctl) parses back, for kernel-sized values.
  if (InRange(r.dst) && (!r.gw.valid() || r.gw.valid()) && r.dev.size() < 16) {
    Route t = r;
    if (!HasSpace(t.dev) || t.dev.empty()) {
      auto p = ParseRouteLine(t.String());
      FUZZ_CHECK(p.ok(), "route line does not parse: %s: %s", t.String().c_str(),
                 p.error().c_str());
      FUZZ_CHECK(p->dst == t.dst && p->gw == t.gw && p->src == t.src && p->table == t.table &&
                     p->onlink == t.onlink,
                 "route line round trip: %s -> %s", t.String().c_str(), p->String().c_str());
    }
  }
}

void CheckRule(const Rule& r) {
  // An IPv4-mapped IPv6 selector becomes an IPv4 prefix (IPAddr has no mapped
  // form); such a rule cannot be rebuilt in its own family.
  auto fam_ok = [&](const std::optional<IPPrefix>& p) {
    return !p || (p->addr().is6() == (r.family == 6));
  };
  if (!fam_ok(r.src) || !fam_ok(r.dst)) return;
  auto m = rtnl::BuildRule(RTM_NEWRULE, NLM_F_REQUEST, r);
  auto back = rtnl::ParseRule(Hdr(m));
  FUZZ_CHECK(back.ok() && *back, "built rule does not parse: %s", r.String().c_str());
  // A /0 selector is not sent (it selects everything).
  Rule want = r;
  if (want.src && want.src->bits() == 0) want.src.reset();
  if (want.dst && want.dst->bits() == 0) want.dst.reset();
  FUZZ_CHECK((*back)->Equivalent(want) && (*back)->priority == r.priority,
             "rule round trip: %s -> %s", r.String().c_str(), (*back)->String().c_str());
}

void CheckAddress(const Address& a) {
  auto m = rtnl::BuildAddress(RTM_NEWADDR, NLM_F_REQUEST, a.link_index, a.prefix);
  auto back = rtnl::ParseAddress(Hdr(m));
  FUZZ_CHECK(back.ok() && *back, "built address does not parse");
  FUZZ_CHECK((*back)->prefix == a.prefix && (*back)->link_index == a.link_index,
             "address round trip: %s -> %s", a.prefix.String().c_str(),
             (*back)->prefix.String().c_str());
}

void CheckLink(const Link& l) {
  LinkSpec spec{l.name, l.kind, l.mtu};
  auto m = rtnl::BuildNewLink(spec, NLM_F_REQUEST);
  auto back = rtnl::ParseLink(Hdr(m));
  FUZZ_CHECK(back.ok() && *back, "built link does not parse");
  FUZZ_CHECK((*back)->name == l.name && (*back)->kind == l.kind && (*back)->mtu == l.mtu,
             "link round trip: %s/%s/%d -> %s/%s/%d", l.name.c_str(), l.kind.c_str(), l.mtu,
             (*back)->name.c_str(), (*back)->kind.c_str(), (*back)->mtu);
}

void CheckDevice(const wg::WgDevice& d) {
  auto msgs = genl::BuildGetDeviceReply(0x20, d);
  if (!msgs.ok()) return;  // a peer larger than a message: not a kernel reply
  wg::WgDevice back;
  for (const auto& m : *msgs) {
    Status s = genl::ParseGetDevice(m.data(), m.size(), &back);
    FUZZ_CHECK(s.ok(), "built device reply does not parse: %s", s.message().c_str());
  }
  FUZZ_CHECK(back.peers.size() == d.peers.size(), "device round trip: %zu peers -> %zu",
             d.peers.size(), back.peers.size());
  FUZZ_CHECK(back.listen_port == static_cast<uint16_t>(d.listen_port) && back.fwmark == d.fwmark,
             "device round trip: port/fwmark");
  for (size_t i = 0; i < d.peers.size(); ++i) {
    const auto &a = d.peers[i], &b = back.peers[i];
    std::vector<IPPrefix> nets;
    for (const auto& p : a.allowed_ips) nets.push_back(p.Network());
    FUZZ_CHECK(a.public_key == b.public_key && a.preshared_key == b.preshared_key &&
                   a.endpoint == b.endpoint &&
                   static_cast<uint16_t>(a.persistent_keepalive) == b.persistent_keepalive &&
                   a.last_handshake_unix == b.last_handshake_unix &&
                   a.last_handshake_nsec == b.last_handshake_nsec && a.rx_bytes == b.rx_bytes &&
                   a.tx_bytes == b.tx_bytes && nets == b.allowed_ips,
               "device round trip: peer %zu differs", i);
  }
}

void CheckDiscovery(SnapshotNetlink& nl) {
  auto def = DefaultRouteInterface(nl);
  FUZZ_CHECK(def.ok(), "DefaultRouteInterface failed on a snapshot");
  if (!def->empty())
    FUZZ_CHECK(std::any_of(nl.links.begin(), nl.links.end(),
                           [&](const Link& l) { return l.name == *def; }),
               "default route interface not a link");
  auto host = CollectHostAddresses(nl);
  FUZZ_CHECK(host.ok(), "CollectHostAddresses failed on a snapshot");
  for (int variant = 0; variant < 3; ++variant) {
    DiscoveryOptions o;
    if (variant == 1) {
      o.prioritise_private_addresses = true;
      if (!host->empty()) o.hostname_ips.push_back(host->back().prefix.addr());
    }
    if (variant == 2) {
      o.internal_cidrs = {IPPrefix(IPAddr::V4(10, 0, 0, 0), 8),
                          IPPrefix(IPAddr::V4(192, 168, 1, 0), 24)};
      o.ignore_interfaces = {"kilo0", "tunl0"};
    }
    auto ips = SelectIPs(*host, o);
    if (!ips.ok()) continue;
    auto given = [&](const IPPrefix& p) {
      return std::any_of(host->begin(), host->end(),
                         [&](const HostAddress& h) { return h.prefix == p; });
    };
    FUZZ_CHECK(ips->external.valid() && given(ips->external), "external IP not a host address");
    FUZZ_CHECK(!ips->external.addr().IsLoopback() && !ips->external.addr().IsLinkLocalUnicast(),
               "external IP is loopback/link-local");
    if (ips->internal) {
      FUZZ_CHECK(given(*ips->internal), "internal IP not a host address");
      FUZZ_CHECK(ips->internal->addr().IsPrivate(), "internal IP not private");
      FUZZ_CHECK(
          o.internal_cidrs.empty() ||
              std::any_of(o.internal_cidrs.begin(), o.internal_cidrs.end(),
                          [&](const IPPrefix& c) { return c.Contains(ips->internal->addr()); }),
          "internal IP outside --internal-cidr");
    }
    auto mtu = AutoMTU(nl.links, *def, ips->internal_iface);
    if (mtu.ok()) FUZZ_CHECK(*mtu > 0, "AutoMTU %d", *mtu);
  }
  (void)RenderRoutes(nl.routes);
  (void)RenderRules(nl.rules);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1u << 20)) return 0;
  // An exact-size, suitably aligned copy: reads past the datagram are caught.
  std::vector<uint8_t> buf(data, data + size);
  unsigned seq = 0, portid = 0;
  if (size >= sizeof(nlmsghdr)) {
    nlmsghdr h;
    memcpy(&h, data, sizeof(h));
    seq = h.nlmsg_seq;
    portid = h.nlmsg_pid;
  }

  SnapshotNetlink nl;
  wg::WgDevice dev;
  bool dev_ok = true, dev_any = false;
  size_t delivered = 0;
  NlReply reply;
  auto done = ScanReply(
      buf.data(), buf.size(), seq, portid,
      [&](const nlmsghdr* nlh) -> Status {
        ++delivered;
        FUZZ_CHECK(
            reinterpret_cast<const uint8_t*>(nlh) + nlh->nlmsg_len <= buf.data() + buf.size(),
            "message past the datagram");
        if (auto l = rtnl::ParseLink(nlh); l.ok() && *l) nl.links.push_back(**l);
        if (auto a = rtnl::ParseAddress(nlh); a.ok() && *a) nl.addrs.push_back(**a);
        if (auto r = rtnl::ParseRoute(nlh); r.ok() && *r) nl.routes.push_back(**r);
        if (auto r = rtnl::ParseRule(nlh); r.ok() && *r) nl.rules.push_back(**r);
        if (dev_ok && nlh->nlmsg_type >= GENL_MIN_ID) {
          Status s =
              genl::ParseGetDevice(reinterpret_cast<const uint8_t*>(nlh), nlh->nlmsg_len, &dev);
          if (s.ok()) dev_any = true;
          dev_ok = s.ok();
        }
        (void)genl::ParseFamilyId(reinterpret_cast<const uint8_t*>(nlh), nlh->nlmsg_len);
        // Like a failing ParseX in RtnlClient's callback: ends the reply.
        if (delivered > 100000) return Status::Error("too many messages");
        return Status::Ok();
      },
      &reply);
  if (!done.ok()) FUZZ_CHECK(!done.error().empty(), "error without a message");

  if (getenv("FUZZ_DEBUG"))  // what a seed parses to
    fprintf(stderr,
            "delivered=%zu done=%d error=%d links=%zu addrs=%zu routes=%zu rules=%zu "
            "wg_peers=%zu (ok=%d)\n",
            delivered, done.ok() && *done, reply.error, nl.links.size(), nl.addrs.size(),
            nl.routes.size(), nl.rules.size(), dev.peers.size(), dev_ok && dev_any);
  for (const auto& l : nl.links) CheckLink(l);
  for (const auto& a : nl.addrs) CheckAddress(a);
  for (const auto& r : nl.routes) CheckRoute(r);
  for (const auto& r : nl.rules) CheckRule(r);
  if (dev_ok && dev_any) CheckDevice(dev);
  CheckDiscovery(nl);
  return 0;
}
