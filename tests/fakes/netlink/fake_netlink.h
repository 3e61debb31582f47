#pragma once
// A stateful in-memory NetlinkClient with the kernel's idempotency rules
// (EEXIST on add and ENOENT on delete are successes; routes with the same key
// replace each other). Every write is recorded as a text line
// ("add route ...", "del rule ...") so tests compare text.

#include <algorithm>
#include <string>
#include <vector>

#include "netlink/netlink.h"

namespace kilo::netlink {

class FakeNetlink : public NetlinkClient {
 public:
  FakeNetlink() { AddLinkNow({1, "lo", "", 65536, true, true}); }

  // Test setup without recording a write.
  int AddLinkNow(Link l) {
    if (!l.index) l.index = next_index_;
    next_index_ = std::max(next_index_, l.index + 1);
    links_.push_back(l);
    return l.index;
  }
  void AddAddressNow(const std::string& link, const IPPrefix& p) {
    addrs_.push_back({IndexOf(link), link, p});
  }
  void AddRouteNow(Route r) {
    r.link_index = IndexOf(r.dev);
    routes_.push_back(r);
  }
  void AddRuleNow(const Rule& r) { rules_.push_back(r); }
  // Link kinds whose creation fails as without the kernel module.
  void SetUnsupportedKinds(std::vector<std::string> k) { unsupported_ = std::move(k); }
  void FailNext(std::string msg) { fail_ = std::move(msg); }

  const std::vector<std::string>& writes() const { return writes_; }
  void ClearWrites() { writes_.clear(); }
  const std::vector<Route>& routes() const { return routes_; }
  const std::vector<Rule>& rules() const { return rules_; }

  Result<std::vector<Link>> ListLinks() override {
    if (!fail_.empty()) return Fail();
    return links_;
  }
  Result<std::optional<Link>> FindLink(const std::string& name) override {
    if (!fail_.empty()) return Fail();
    for (const auto& l : links_)
      if (l.name == name) return std::optional<Link>(l);
    return std::optional<Link>();
  }
  Result<std::optional<Link>> FindLinkByIndex(int index) override {
    for (const auto& l : links_)
      if (l.index == index) return std::optional<Link>(l);
    return std::optional<Link>();
  }
  Status CreateLink(const LinkSpec& spec) override {
    if (!fail_.empty()) return Fail();
    for (const auto& l : links_)
      if (l.name == spec.name) {
        if (l.kind == spec.kind) return Status::Ok();
        return Status::Error("create link " + spec.name + ": exists with kind " + l.kind);
      }
    if (std::find(unsupported_.begin(), unsupported_.end(), spec.kind) != unsupported_.end())
      return Status::Error("create link " + spec.name + " (" + spec.kind +
                           "): link kind not supported by this kernel");
    AddLinkNow({0, spec.name, spec.kind, spec.mtu ? spec.mtu : 1500, false, false});
    writes_.push_back("add link " + spec.name + " type " + spec.kind);
    return Status::Ok();
  }
  Status DeleteLink(const std::string& name) override {
    if (!fail_.empty()) return Fail();
    int idx = IndexOf(name);
    if (!idx) return Status::Ok();
    links_.erase(
        std::remove_if(links_.begin(), links_.end(), [&](const Link& l) { return l.index == idx; }),
        links_.end());
    // The kernel drops a link's addresses and routes with it.
    addrs_.erase(std::remove_if(addrs_.begin(), addrs_.end(),
                                [&](const Address& a) { return a.link_index == idx; }),
                 addrs_.end());
    routes_.erase(std::remove_if(routes_.begin(), routes_.end(),
                                 [&](const Route& r) { return r.link_index == idx; }),
                  routes_.end());
    writes_.push_back("del link " + name);
    return Status::Ok();
  }
  Status SetLinkMTU(const std::string& name, int mtu) override {
    Link* l = Find(name);
    if (!l) return Status::Error("set mtu on " + name + ": no such link");
    l->mtu = mtu;
    writes_.push_back("set link " + name + " mtu " + std::to_string(mtu));
    return Status::Ok();
  }
  Status SetLinkUp(const std::string& name, bool up) override {
    Link* l = Find(name);
    if (!l) return Status::Error("set " + name + " up: no such link");
    l->up = up;
    writes_.push_back("set link " + name + (up ? " up" : " down"));
    return Status::Ok();
  }

  Result<std::vector<Address>> ListAddresses(int link_index = 0) override {
    if (!fail_.empty()) return Fail();
    std::vector<Address> out;
    for (const auto& a : addrs_)
      if (!link_index || a.link_index == link_index) out.push_back(a);
    return out;
  }
  Status AddAddress(int link_index, const IPPrefix& p) override {
    if (!fail_.empty()) return Fail();
    for (const auto& a : addrs_)
      if (a.link_index == link_index && a.prefix == p) return Status::Ok();
    addrs_.push_back({link_index, NameOf(link_index), p});
    writes_.push_back("add address " + p.String() + " dev " + NameOf(link_index));
    return Status::Ok();
  }
  Status DeleteAddress(int link_index, const IPPrefix& p) override {
    if (!fail_.empty()) return Fail();
    auto it = std::find_if(addrs_.begin(), addrs_.end(), [&](const Address& a) {
      return a.link_index == link_index && a.prefix == p;
    });
    if (it == addrs_.end()) return Status::Ok();
    addrs_.erase(it);
    writes_.push_back("del address " + p.String() + " dev " + NameOf(link_index));
    return Status::Ok();
  }

  Result<std::vector<Route>> ListRoutes(uint32_t table = 0) override {
    if (!fail_.empty()) return Fail();
    std::vector<Route> out;
    for (auto r : routes_) {
      if (table && r.table != table) continue;
      r.dev = NameOf(r.link_index);
      out.push_back(r);
    }
    return out;
  }
  Status ReplaceRoute(const Route& in) override {
    if (!fail_.empty()) return Fail();
    Route r = in;
    if (!r.link_index) r.link_index = IndexOf(r.dev);
    if (!FindLinkByIndex(r.link_index)->has_value())
      return Status::Error("add " + r.String() + ": No such device");
    r.dev = NameOf(r.link_index);
    r.dst = r.dst.Network();
    auto it =
        std::find_if(routes_.begin(), routes_.end(), [&](const Route& o) { return o.SameKey(r); });
    if (it != routes_.end())
      *it = r;
    else
      routes_.push_back(r);
    writes_.push_back("add " + r.String());
    return Status::Ok();
  }
  Status DeleteRoute(const Route& r) override {
    if (!fail_.empty()) return Fail();
    auto it =
        std::find_if(routes_.begin(), routes_.end(), [&](const Route& o) { return o.SameKey(r); });
    if (it == routes_.end()) return Status::Ok();  // ESRCH: already gone
    Route gone = *it;
    gone.dev = NameOf(gone.link_index);
    routes_.erase(it);
    writes_.push_back("del " + gone.String());
    return Status::Ok();
  }

  Result<std::vector<Rule>> ListRules() override {
    if (!fail_.empty()) return Fail();
    return rules_;
  }
  Status AddRule(const Rule& r) override {
    if (!fail_.empty()) return Fail();
    for (const auto& o : rules_)
      if (o.Equivalent(r)) return Status::Ok();
    rules_.push_back(r);
    writes_.push_back("add " + r.String());
    return Status::Ok();
  }
  Status DeleteRule(const Rule& r) override {
    if (!fail_.empty()) return Fail();
    auto it =
        std::find_if(rules_.begin(), rules_.end(), [&](const Rule& o) { return o.Equivalent(r); });
    if (it == rules_.end()) return Status::Ok();
    rules_.erase(it);
    writes_.push_back("del " + r.String());
    return Status::Ok();
  }

 private:
  Status Fail() {
    Status s = Status::Error(fail_);
    fail_.clear();
    return s;
  }
  Link* Find(const std::string& name) {
    for (auto& l : links_)
      if (l.name == name) return &l;
    return nullptr;
  }
  int IndexOf(const std::string& name) {
    Link* l = Find(name);
    return l ? l->index : 0;
  }
  std::string NameOf(int index) {
    for (const auto& l : links_)
      if (l.index == index) return l.name;
    return "";
  }
  std::vector<Link> links_;
  std::vector<Address> addrs_;
  std::vector<Route> routes_;
  std::vector<Rule> rules_;
  std::vector<std::string> unsupported_;
  std::vector<std::string> writes_;
  std::string fail_;
  int next_index_ = 2;
};

}  // namespace kilo::netlink
