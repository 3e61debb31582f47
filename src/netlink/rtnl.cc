#include "netlink/rtnl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "netlink/mnl_util.h"

namespace kilo::netlink {
namespace rtnl {

namespace {

// Room for any single rtnetlink request we build.
constexpr size_t kBuf = 1024;

nlmsghdr* Start(Message* buf, uint16_t type, uint16_t flags) {
  buf->assign(kBuf, 0);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf->data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  return nlh;
}

void Finish(Message* buf, const nlmsghdr* nlh) { buf->resize(nlh->nlmsg_len); }

std::optional<IPAddr> AddrAttr(const nlattr* a, int family) {
  size_t want = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
  if (!want || mnl_attr_get_payload_len(a) < want) return std::nullopt;
  return IPAddr::FromBytes(static_cast<const uint8_t*>(mnl_attr_get_payload(a)),
                           static_cast<int>(want));
}

// The prefix an address attribute and a prefix length stand for; nullopt
// when the attribute is short or the pair has no representation (see
// IPPrefix::FromBytes): such a route, rule or address is not Kilo's and is
// skipped.
std::optional<IPPrefix> PrefixAttr(const nlattr* a, int family, int bits) {
  size_t want = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
  if (!want || mnl_attr_get_payload_len(a) < want) return std::nullopt;
  return IPPrefix::FromBytes(static_cast<const uint8_t*>(mnl_attr_get_payload(a)),
                             static_cast<int>(want), bits);
}

int AfOf(const IPAddr& a) { return a.is6() ? AF_INET6 : AF_INET; }

}  // namespace

Message BuildRoute(uint16_t type, uint16_t flags, const Route& r) {
  Message buf;
  nlmsghdr* nlh = Start(&buf, type, flags);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  const IPPrefix dst = r.dst.Network();
  rtm->rtm_family = static_cast<uint8_t>(AfOf(dst.addr()));
  rtm->rtm_dst_len = static_cast<uint8_t>(dst.bits());
  // rtm_table is 8 bits; larger ids live in RTA_TABLE with rtm_table = UNSPEC
  // (what iproute2 sends for table 1107).
  rtm->rtm_table = r.table < 256 ? static_cast<uint8_t>(r.table) : uint8_t{RT_TABLE_UNSPEC};
  rtm->rtm_protocol = r.protocol;
  rtm->rtm_scope = r.scope;
  rtm->rtm_type = r.type;
  if (r.onlink) rtm->rtm_flags |= RTNH_F_ONLINK;
  if (dst.bits() > 0) mnl_attr_put(nlh, RTA_DST, dst.addr().bytelen(), dst.addr().data());
  mnl_attr_put_u32(nlh, RTA_TABLE, r.table);
  if (r.gw.valid()) {
    if (r.gw.family() == dst.addr().family()) {
      mnl_attr_put(nlh, RTA_GATEWAY, r.gw.bytelen(), r.gw.data());
    } else {
      // An IPv4 route via an IPv6 next hop (Kilo routes IPv4 pod subnets via
      // IPv6 WireGuard IPs) cannot use RTA_GATEWAY, whose length must match
      // rtm_family; RTA_VIA carries its own family.
      uint8_t via[2 + 16] = {};
      uint16_t fam = static_cast<uint16_t>(AfOf(r.gw));
      memcpy(via, &fam, 2);
      memcpy(via + 2, r.gw.data(), r.gw.bytelen());
      mnl_attr_put(nlh, RTA_VIA, 2 + r.gw.bytelen(), via);
    }
  }
  if (r.src.valid()) mnl_attr_put(nlh, RTA_PREFSRC, r.src.bytelen(), r.src.data());
  if (r.link_index) mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(r.link_index));
  if (r.metric) mnl_attr_put_u32(nlh, RTA_PRIORITY, r.metric);
  Finish(&buf, nlh);
  return buf;
}

Result<std::optional<Route>> ParseRoute(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWROUTE) return std::optional<Route>();
  if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(rtmsg)) return Status::Error("short route message");
  auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  // Cached (cloned) routes are PMTU/redirect exceptions, not configuration.
  if (rtm->rtm_flags & RTM_F_CLONED) return std::optional<Route>();
  const int fam = rtm->rtm_family;
  if (fam != AF_INET && fam != AF_INET6) return std::optional<Route>();
  Route r;
  // Until RTA_DST says otherwise, the zero address; a length that does not
  // fit the family is no route we could have made.
  auto zero = IPPrefix::FromBytes(std::array<uint8_t, 16>{}.data(), fam == AF_INET ? 4 : 16,
                                  rtm->rtm_dst_len);
  if (!zero) return std::optional<Route>();
  r.dst = *zero;
  r.table = rtm->rtm_table;
  r.protocol = rtm->rtm_protocol;
  r.scope = rtm->rtm_scope;
  r.type = rtm->rtm_type;
  r.onlink = rtm->rtm_flags & RTNH_F_ONLINK;
  const nlattr* a;
  KILO_ATTR_FOR_EACH(a, nlh, sizeof(rtmsg)) {
    switch (mnl_attr_get_type(a)) {
      case RTA_DST:
        if (auto p = PrefixAttr(a, fam, rtm->rtm_dst_len))
          r.dst = *p;
        else
          return std::optional<Route>();
        break;
      case RTA_GATEWAY:
        if (auto ip = AddrAttr(a, fam)) r.gw = *ip;
        break;
      case RTA_VIA: {
        size_t len = mnl_attr_get_payload_len(a);
        if (len >= 2) {
          uint16_t vf;
          memcpy(&vf, mnl_attr_get_payload(a), 2);
          size_t want = vf == AF_INET ? 4 : vf == AF_INET6 ? 16 : 0;
          if (want && len >= 2 + want)
            r.gw = IPAddr::FromBytes(static_cast<const uint8_t*>(mnl_attr_get_payload(a)) + 2,
                                     static_cast<int>(want));
        }
        break;
      }
      case RTA_PREFSRC:
        if (auto ip = AddrAttr(a, fam)) r.src = *ip;
        break;
      case RTA_OIF:
        if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) r.link_index = mnl_attr_get_u32(a);
        break;
      case RTA_TABLE:
        if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) r.table = mnl_attr_get_u32(a);
        break;
      case RTA_PRIORITY:
        if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) r.metric = mnl_attr_get_u32(a);
        break;
      case RTA_MULTIPATH:
        return std::optional<Route>();  // ECMP routes are never kg's
      default:
        break;
    }
  }
  return std::optional<Route>(r);
}

Message BuildRule(uint16_t type, uint16_t flags, const Rule& r) {
  Message buf;
  nlmsghdr* nlh = Start(&buf, type, flags);
  auto* frh = static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(fib_rule_hdr)));
  frh->family = r.family == 6 ? AF_INET6 : AF_INET;
  frh->table = r.table < 256 ? static_cast<uint8_t>(r.table) : uint8_t{RT_TABLE_UNSPEC};
  frh->action = FR_ACT_TO_TBL;
  if (r.src) {
    IPPrefix n = r.src->Network();
    frh->src_len = static_cast<uint8_t>(n.bits());
    if (n.bits()) mnl_attr_put(nlh, FRA_SRC, n.addr().bytelen(), n.addr().data());
  }
  if (r.dst) {
    IPPrefix n = r.dst->Network();
    frh->dst_len = static_cast<uint8_t>(n.bits());
    if (n.bits()) mnl_attr_put(nlh, FRA_DST, n.addr().bytelen(), n.addr().data());
  }
  if (!r.iif.empty()) mnl_attr_put_strz(nlh, FRA_IIFNAME, r.iif.c_str());
  mnl_attr_put_u32(nlh, FRA_TABLE, r.table);
  if (r.priority) mnl_attr_put_u32(nlh, FRA_PRIORITY, r.priority);
  Finish(&buf, nlh);
  return buf;
}

Result<std::optional<Rule>> ParseRule(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWRULE) return std::optional<Rule>();
  if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(fib_rule_hdr))
    return Status::Error("short rule message");
  auto* frh = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(nlh));
  if (frh->family != AF_INET && frh->family != AF_INET6) return std::optional<Rule>();
  Rule r;
  r.family = frh->family == AF_INET6 ? 6 : 4;
  r.table = frh->table;
  const nlattr* a;
  KILO_ATTR_FOR_EACH(a, nlh, sizeof(fib_rule_hdr)) {
    switch (mnl_attr_get_type(a)) {
      case FRA_SRC:
        if (auto p = PrefixAttr(a, frh->family, frh->src_len))
          r.src = *p;
        else
          return std::optional<Rule>();
        break;
      case FRA_DST:
        if (auto p = PrefixAttr(a, frh->family, frh->dst_len))
          r.dst = *p;
        else
          return std::optional<Rule>();
        break;
      case FRA_IIFNAME:
        if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) r.iif = mnl_attr_get_str(a);
        break;
      case FRA_TABLE:
        if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) r.table = mnl_attr_get_u32(a);
        break;
      case FRA_PRIORITY:
        if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) r.priority = mnl_attr_get_u32(a);
        break;
      default:
        break;
    }
  }
  return std::optional<Rule>(r);
}

Message BuildAddress(uint16_t type, uint16_t flags, int link_index, const IPPrefix& p) {
  Message buf;
  nlmsghdr* nlh = Start(&buf, type, flags);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = static_cast<uint8_t>(AfOf(p.addr()));
  ifa->ifa_prefixlen = static_cast<uint8_t>(p.bits());
  ifa->ifa_index = static_cast<uint32_t>(link_index);
  // IPv4 distinguishes the local address (IFA_LOCAL) from the peer address of
  // point-to-point links (IFA_ADDRESS); for broadcast links both are the same.
  if (p.addr().is4()) mnl_attr_put(nlh, IFA_LOCAL, 4, p.addr().data());
  mnl_attr_put(nlh, IFA_ADDRESS, p.addr().bytelen(), p.addr().data());
  Finish(&buf, nlh);
  return buf;
}

Result<std::optional<Address>> ParseAddress(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWADDR) return std::optional<Address>();
  if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(ifaddrmsg))
    return Status::Error("short address message");
  auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  std::optional<IPPrefix> local, address;
  const nlattr* a;
  KILO_ATTR_FOR_EACH(a, nlh, sizeof(ifaddrmsg)) {
    if (mnl_attr_get_type(a) == IFA_LOCAL)
      local = PrefixAttr(a, ifa->ifa_family, ifa->ifa_prefixlen);
    if (mnl_attr_get_type(a) == IFA_ADDRESS)
      address = PrefixAttr(a, ifa->ifa_family, ifa->ifa_prefixlen);
  }
  std::optional<IPPrefix> prefix = local ? local : address;
  if (!prefix) return std::optional<Address>();
  Address out;
  out.link_index = static_cast<int>(ifa->ifa_index);
  out.prefix = *prefix;
  return std::optional<Address>(out);
}

Message BuildNewLink(const LinkSpec& spec, uint16_t flags) {
  Message buf;
  nlmsghdr* nlh = Start(&buf, RTM_NEWLINK, flags);
  mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg));
  mnl_attr_put_strz(nlh, IFLA_IFNAME, spec.name.c_str());
  if (spec.mtu) mnl_attr_put_u32(nlh, IFLA_MTU, static_cast<uint32_t>(spec.mtu));
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, spec.kind.c_str());
  mnl_attr_nest_end(nlh, info);
  Finish(&buf, nlh);
  return buf;
}

Result<std::optional<Link>> ParseLink(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWLINK) return std::optional<Link>();
  if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(ifinfomsg)) return Status::Error("short link message");
  auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  Link l;
  l.index = ifi->ifi_index;
  l.up = ifi->ifi_flags & IFF_UP;
  l.loopback = ifi->ifi_flags & IFF_LOOPBACK;
  const nlattr* a;
  KILO_ATTR_FOR_EACH(a, nlh, sizeof(ifinfomsg)) {
    switch (mnl_attr_get_type(a)) {
      case IFLA_IFNAME:
        if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) l.name = mnl_attr_get_str(a);
        break;
      case IFLA_MTU:
        if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) l.mtu = static_cast<int>(mnl_attr_get_u32(a));
        break;
      case IFLA_LINKINFO: {
        const nlattr* i;
        KILO_ATTR_FOR_EACH_NESTED(i, a) {
          if (mnl_attr_get_type(i) == IFLA_INFO_KIND && mnl_attr_validate(i, MNL_TYPE_STRING) == 0)
            l.kind = std::string(static_cast<const char*>(mnl_attr_get_payload(i)),
                                 strnlen(static_cast<const char*>(mnl_attr_get_payload(i)),
                                         mnl_attr_get_payload_len(i)));
        }
        break;
      }
      default:
        break;
    }
  }
  return std::optional<Link>(l);
}

}  // namespace rtnl

// ---------------------------------------------------------------- RtnlClient

Result<std::unique_ptr<RtnlClient>> RtnlClient::Open() {
  auto s = NetlinkSocket::Open(NETLINK_ROUTE);
  if (!s.ok()) return s.status();
  return std::unique_ptr<RtnlClient>(new RtnlClient(std::move(*s)));
}

Status RtnlClient::Dump(rtnl::Message req, const std::function<Status(const nlmsghdr*)>& on_msg,
                        const std::function<void()>& reset) {
  /* Netlink returns NLM_F_DUMP_INTR if the set of objects changed during the
   * dump (a route added mid-way); the partial list may miss or repeat entries,
   * so start again from scratch. */
  for (int attempt = 0; attempt < 5; ++attempt) {
    reset();
    auto r = sock_->Transact(reinterpret_cast<nlmsghdr*>(req.data()), on_msg);
    if (!r.ok()) return r.status();
    if (r->error) return Status::Error(strerror(r->error));
    if (!r->dump_interrupted) return Status::Ok();
  }
  return Status::Error("dump interrupted 5 times in a row");
}

Result<int> RtnlClient::Do(rtnl::Message req) {
  auto r = sock_->Transact(reinterpret_cast<nlmsghdr*>(req.data()));
  if (!r.ok()) return r.status();
  return r->error;
}

namespace {
rtnl::Message DumpRequest(uint16_t type, size_t hdr_len, uint8_t family) {
  rtnl::Message buf(256, 0);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  auto* h = static_cast<uint8_t*>(mnl_nlmsg_put_extra_header(nlh, hdr_len));
  h[0] = family;  // every rtnetlink header starts with the family byte
  buf.resize(nlh->nlmsg_len);
  return buf;
}
}  // namespace

Result<std::vector<Link>> RtnlClient::ListLinks() {
  MutexLock l(&mu_);
  std::vector<Link> out;
  Status s = Dump(
      DumpRequest(RTM_GETLINK, sizeof(ifinfomsg), AF_UNSPEC),
      [&](const nlmsghdr* nlh) -> Status {
        auto link = rtnl::ParseLink(nlh);
        if (!link.ok()) return link.status();
        if (*link) out.push_back(**link);
        return Status::Ok();
      },
      [&] { out.clear(); });
  if (!s.ok()) return s.Wrap("list links");
  return out;
}

Result<std::optional<Link>> RtnlClient::FindLink(const std::string& name) {
  auto links = ListLinks();
  if (!links.ok()) return links.status();
  for (auto& l : *links)
    if (l.name == name) return std::optional<Link>(l);
  return std::optional<Link>();
}

Result<std::optional<Link>> RtnlClient::FindLinkByIndex(int index) {
  auto links = ListLinks();
  if (!links.ok()) return links.status();
  for (auto& l : *links)
    if (l.index == index) return std::optional<Link>(l);
  return std::optional<Link>();
}

Status RtnlClient::CreateLink(const LinkSpec& spec) {
  const std::string ctx = "create link " + spec.name + " (" + spec.kind + ")";
  auto existing = FindLink(spec.name);
  if (!existing.ok()) return existing.status().Wrap(ctx);
  if (*existing) {
    if ((*existing)->kind == spec.kind) return Status::Ok();
    return Status::Error(ctx + ": a link of kind '" + (*existing)->kind + "' has that name");
  }
  int err;
  {
    MutexLock l(&mu_);
    auto r = Do(rtnl::BuildNewLink(spec, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL));
    if (!r.ok()) return r.status().Wrap(ctx);
    err = *r;
  }
  if (err == 0 || err == EEXIST) return Status::Ok();  // EEXIST: created concurrently
  // The kernel answers EOPNOTSUPP ("Unknown device type") when no module
  // provides the link kind and module auto-loading failed.
  if (err == EOPNOTSUPP) {
    if (spec.kind == "wireguard")
      return Status::Error(ctx +
                           ": the kernel has no WireGuard module; load it (modprobe wireguard) "
                           "or run a userspace WireGuard (wireguard-go, boringtun) and start "
                           "with --create-interface=false");
    if (spec.kind == "ipip")
      return Status::Error(ctx +
                           ": the kernel has no IPIP module; load it (modprobe ipip) or start "
                           "with --encapsulate=never");
    return Status::Error(ctx + ": link kind not supported by this kernel");
  }
  return Status::Error(ctx + ": " + strerror(err));
}

Status RtnlClient::DeleteLink(const std::string& name) {
  auto link = FindLink(name);
  if (!link.ok()) return link.status().Wrap("delete link " + name);
  if (!*link) return Status::Ok();
  MutexLock l(&mu_);
  rtnl::Message buf(256, 0);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = RTM_DELLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_index = (*link)->index;
  buf.resize(nlh->nlmsg_len);
  auto r = Do(std::move(buf));
  if (!r.ok()) return r.status().Wrap("delete link " + name);
  if (*r == 0 || *r == ENODEV) return Status::Ok();  // ENODEV: deleted concurrently
  return Status::Error("delete link " + name + ": " + strerror(*r));
}

Status RtnlClient::LinkChange(const std::string& name, int mtu, int up) {
  auto link = FindLink(name);
  if (!link.ok()) return link.status();
  if (!*link) return Status::Error("no such link");
  MutexLock l(&mu_);
  rtnl::Message buf(256, 0);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = RTM_NEWLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_index = (*link)->index;
  if (up >= 0) {
    ifi->ifi_change = IFF_UP;
    ifi->ifi_flags = up ? IFF_UP : 0;
  }
  if (mtu > 0) mnl_attr_put_u32(nlh, IFLA_MTU, static_cast<uint32_t>(mtu));
  buf.resize(nlh->nlmsg_len);
  auto r = Do(std::move(buf));
  if (!r.ok()) return r.status();
  if (*r) return Status::Error(strerror(*r));
  return Status::Ok();
}

Status RtnlClient::SetLinkMTU(const std::string& name, int mtu) {
  return LinkChange(name, mtu, -1).Wrap("set mtu " + std::to_string(mtu) + " on " + name);
}

Status RtnlClient::SetLinkUp(const std::string& name, bool up) {
  return LinkChange(name, 0, up ? 1 : 0).Wrap(std::string("set ") + name + (up ? " up" : " down"));
}

Result<std::vector<Address>> RtnlClient::ListAddresses(int link_index) {
  auto links = ListLinks();
  if (!links.ok()) return links.status().Wrap("list addresses");
  MutexLock l(&mu_);
  std::vector<Address> out;
  Status s = Dump(
      DumpRequest(RTM_GETADDR, sizeof(ifaddrmsg), AF_UNSPEC),
      [&](const nlmsghdr* nlh) -> Status {
        auto a = rtnl::ParseAddress(nlh);
        if (!a.ok()) return a.status();
        if (*a && (link_index == 0 || (*a)->link_index == link_index)) out.push_back(**a);
        return Status::Ok();
      },
      [&] { out.clear(); });
  if (!s.ok()) return s.Wrap("list addresses");
  for (auto& a : out)
    for (const auto& k : *links)
      if (k.index == a.link_index) a.link_name = k.name;
  return out;
}

Status RtnlClient::AddAddress(int link_index, const IPPrefix& p) {
  MutexLock l(&mu_);
  auto r = Do(rtnl::BuildAddress(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                                 link_index, p));
  const std::string ctx = "add address " + p.String() + " to if" + std::to_string(link_index);
  if (!r.ok()) return r.status().Wrap(ctx);
  // EEXIST: the address is already there, which is the state we want.
  if (*r == 0 || *r == EEXIST) return Status::Ok();
  return Status::Error(ctx + ": " + strerror(*r));
}

Status RtnlClient::DeleteAddress(int link_index, const IPPrefix& p) {
  MutexLock l(&mu_);
  auto r = Do(rtnl::BuildAddress(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, link_index, p));
  const std::string ctx = "delete address " + p.String() + " from if" + std::to_string(link_index);
  if (!r.ok()) return r.status().Wrap(ctx);
  // EADDRNOTAVAIL: already gone; deleting is idempotent.
  if (*r == 0 || *r == EADDRNOTAVAIL) return Status::Ok();
  return Status::Error(ctx + ": " + strerror(*r));
}

Result<std::vector<Route>> RtnlClient::ListRoutes(uint32_t table) {
  auto links = ListLinks();
  if (!links.ok()) return links.status().Wrap("list routes");
  MutexLock l(&mu_);
  std::vector<Route> out;
  // AF_UNSPEC dumps IPv4 and IPv6 in one request.
  Status s = Dump(
      DumpRequest(RTM_GETROUTE, sizeof(rtmsg), AF_UNSPEC),
      [&](const nlmsghdr* nlh) -> Status {
        auto r = rtnl::ParseRoute(nlh);
        if (!r.ok()) return r.status();
        if (!*r) return Status::Ok();
        if ((*r)->table == RT_TABLE_LOCAL && table != RT_TABLE_LOCAL) return Status::Ok();
        if (table && (*r)->table != table) return Status::Ok();
        out.push_back(**r);
        return Status::Ok();
      },
      [&] { out.clear(); });
  if (!s.ok()) return s.Wrap("list routes");
  for (auto& r : out)
    for (const auto& k : *links)
      if (k.index == r.link_index) r.dev = k.name;
  return out;
}

Status RtnlClient::ReplaceRoute(const Route& r) {
  MutexLock l(&mu_);
  auto e = Do(
      rtnl::BuildRoute(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, r));
  if (!e.ok()) return e.status().Wrap("add " + r.String());
  if (*e) return Status::Error("add " + r.String() + ": " + strerror(*e));
  return Status::Ok();
}

Status RtnlClient::DeleteRoute(const Route& r) {
  MutexLock l(&mu_);
  auto e = Do(rtnl::BuildRoute(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, r));
  if (!e.ok()) return e.status().Wrap("delete " + r.String());
  // IPv4 answers ESRCH and IPv6 ENOENT for a route that is not there; either
  // way the route is gone, which is what was asked.
  if (*e == 0 || *e == ESRCH || *e == ENOENT) return Status::Ok();
  return Status::Error("delete " + r.String() + ": " + strerror(*e));
}

Result<std::vector<Rule>> RtnlClient::ListRules() {
  MutexLock l(&mu_);
  std::vector<Rule> out;
  Status s = Dump(
      DumpRequest(RTM_GETRULE, sizeof(fib_rule_hdr), AF_UNSPEC),
      [&](const nlmsghdr* nlh) -> Status {
        auto r = rtnl::ParseRule(nlh);
        if (!r.ok()) return r.status();
        if (*r) out.push_back(**r);
        return Status::Ok();
      },
      [&] { out.clear(); });
  if (!s.ok()) return s.Wrap("list rules");
  return out;
}

Status RtnlClient::AddRule(const Rule& r) {
  MutexLock l(&mu_);
  // NLM_F_EXCL makes the kernel check for an identical rule (EEXIST) instead
  // of silently adding a duplicate, which rules otherwise allow.
  auto e =
      Do(rtnl::BuildRule(RTM_NEWRULE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, r));
  if (!e.ok()) return e.status().Wrap("add " + r.String());
  if (*e == 0 || *e == EEXIST) return Status::Ok();
  return Status::Error("add " + r.String() + ": " + strerror(*e));
}

Status RtnlClient::DeleteRule(const Rule& r) {
  MutexLock l(&mu_);
  auto e = Do(rtnl::BuildRule(RTM_DELRULE, NLM_F_REQUEST | NLM_F_ACK, r));
  if (!e.ok()) return e.status().Wrap("delete " + r.String());
  if (*e == 0 || *e == ENOENT) return Status::Ok();
  return Status::Error("delete " + r.String() + ": " + strerror(*e));
}

}  // namespace kilo::netlink
