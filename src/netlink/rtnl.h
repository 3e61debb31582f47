#pragma once
// The real NetlinkClient: rtnetlink over libmnl.
//
// Message building and parsing are exposed as pure functions over buffers so
// that unit tests can round-trip them without touching the kernel.

#include <linux/netlink.h>

#include <memory>
#include <vector>

#include "core/thread_annotations.h"
#include "netlink/netlink.h"
#include "netlink/socket.h"

namespace kilo::netlink {

namespace rtnl {

using Message = std::vector<uint8_t>;

// RTM_NEWROUTE / RTM_DELROUTE for `r` (r.link_index must be set). The table
// goes in RTA_TABLE (rtm_table only holds 8 bits, and 1107 does not fit);
// a gateway of the other family goes in RTA_VIA (IPv4 via IPv6, Linux >= 5.2).
Message BuildRoute(uint16_t type, uint16_t flags, const Route& r);
// Parses an RTM_NEWROUTE message. Returns nullopt for routes we do not model
// (cloned/cache entries, multipath). `dev` is left empty.
Result<std::optional<Route>> ParseRoute(const nlmsghdr* nlh);

Message BuildRule(uint16_t type, uint16_t flags, const Rule& r);
Result<std::optional<Rule>> ParseRule(const nlmsghdr* nlh);

Message BuildAddress(uint16_t type, uint16_t flags, int link_index, const IPPrefix& p);
Result<std::optional<Address>> ParseAddress(const nlmsghdr* nlh);

Message BuildNewLink(const LinkSpec& spec, uint16_t flags);
Result<std::optional<Link>> ParseLink(const nlmsghdr* nlh);

}  // namespace rtnl

// Thread-safe: a mutex serialises the socket. Operates in the network
// namespace of the thread that called Open().
class RtnlClient : public NetlinkClient {
 public:
  static Result<std::unique_ptr<RtnlClient>> Open();

  Result<std::vector<Link>> ListLinks() override;
  Result<std::optional<Link>> FindLink(const std::string& name) override;
  Result<std::optional<Link>> FindLinkByIndex(int index) override;
  Status CreateLink(const LinkSpec& spec) override;
  Status DeleteLink(const std::string& name) override;
  Status SetLinkMTU(const std::string& name, int mtu) override;
  Status SetLinkUp(const std::string& name, bool up) override;

  Result<std::vector<Address>> ListAddresses(int link_index = 0) override;
  Status AddAddress(int link_index, const IPPrefix& p) override;
  Status DeleteAddress(int link_index, const IPPrefix& p) override;

  Result<std::vector<Route>> ListRoutes(uint32_t table = 0) override;
  Status ReplaceRoute(const Route& r) override;
  Status DeleteRoute(const Route& r) override;

  Result<std::vector<Rule>> ListRules() override;
  Status AddRule(const Rule& r) override;
  Status DeleteRule(const Rule& r) override;

 private:
  explicit RtnlClient(std::unique_ptr<NetlinkSocket> s) : sock_(std::move(s)) {}
  // Runs a dump, retrying when the kernel flags NLM_F_DUMP_INTR.
  Status Dump(rtnl::Message req, const std::function<Status(const nlmsghdr*)>& on_msg,
              const std::function<void()>& reset) REQUIRES(mu_);
  // Sends a request with NLM_F_ACK; returns the kernel errno (0 = ok) or a
  // socket failure.
  Result<int> Do(rtnl::Message req) REQUIRES(mu_);
  Status LinkChange(const std::string& name, int mtu, int up);

  Mutex mu_;  // serialises the socket: one request and its replies at a time
  std::unique_ptr<NetlinkSocket> sock_ GUARDED_BY(mu_);
};

}  // namespace kilo::netlink
