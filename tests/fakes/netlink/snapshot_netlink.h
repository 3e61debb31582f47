#pragma once
// A read-only NetlinkClient over a fixed snapshot of links, addresses, routes
// and rules, served like RtnlClient serves the kernel's dumps (link names
// filled in from the indexes, the local table only when asked for); every
// write fails with "read-only". For code that only reads the host's state
// (discovery), e.g. the fuzz target tests/fuzz/fuzz_netlink_reply.cc.
//
// Usage: add ${CMAKE_SOURCE_DIR}/tests to the include path, then
// #include "fakes/netlink/snapshot_netlink.h".

#include <linux/rtnetlink.h>

#include <optional>
#include <string>
#include <vector>

#include "netlink/netlink.h"

namespace kilo::netlink::testing {

class SnapshotNetlink : public NetlinkClient {
 public:
  std::vector<Link> links;
  std::vector<Address> addrs;
  std::vector<Route> routes;
  std::vector<Rule> rules;

  Result<std::vector<Link>> ListLinks() override { return links; }
  Result<std::optional<Link>> FindLink(const std::string& name) override {
    for (auto& l : links)
      if (l.name == name) return std::optional<Link>(l);
    return std::optional<Link>();
  }
  Result<std::optional<Link>> FindLinkByIndex(int index) override {
    for (auto& l : links)
      if (l.index == index) return std::optional<Link>(l);
    return std::optional<Link>();
  }
  Status CreateLink(const LinkSpec&) override { return Status::Error("read-only"); }
  Status DeleteLink(const std::string&) override { return Status::Error("read-only"); }
  Status SetLinkMTU(const std::string&, int) override { return Status::Error("read-only"); }
  Status SetLinkUp(const std::string&, bool) override { return Status::Error("read-only"); }
  Result<std::vector<Address>> ListAddresses(int link_index) override {
    std::vector<Address> out;
    for (auto a : addrs) {
      if (link_index && a.link_index != link_index) continue;
      for (const auto& l : links)
        if (l.index == a.link_index) a.link_name = l.name;
      out.push_back(a);
    }
    return out;
  }
  Status AddAddress(int, const IPPrefix&) override { return Status::Error("read-only"); }
  Status DeleteAddress(int, const IPPrefix&) override { return Status::Error("read-only"); }
  Result<std::vector<Route>> ListRoutes(uint32_t table) override {
    std::vector<Route> out;
    for (auto r : routes) {
      if (r.table == RT_TABLE_LOCAL && table != RT_TABLE_LOCAL) continue;
      if (table && r.table != table) continue;
      for (const auto& l : links)
        if (l.index == r.link_index) r.dev = l.name;
      out.push_back(r);
    }
    return out;
  }
  Status ReplaceRoute(const Route&) override { return Status::Error("read-only"); }
  Status DeleteRoute(const Route&) override { return Status::Error("read-only"); }
  Result<std::vector<Rule>> ListRules() override { return rules; }
  Status AddRule(const Rule&) override { return Status::Error("read-only"); }
  Status DeleteRule(const Rule&) override { return Status::Error("read-only"); }
};

}  // namespace kilo::netlink::testing
