#include "netlink/netlink.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <sstream>

namespace kilo::netlink {

namespace {

std::vector<std::string> Split(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

bool ParseU32(const std::string& s, uint32_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

std::optional<IPPrefix> PrefixOrHost(const std::string& s) {
  if (s.find('/') != std::string::npos) return IPPrefix::Parse(s);
  auto a = IPAddr::Parse(s);
  if (!a) return std::nullopt;
  return IPPrefix::Host(*a);
}

Result<std::map<std::string, int>> LinkIndexes(NetlinkClient& nl) {
  auto links = nl.ListLinks();
  if (!links.ok()) return links.status();
  std::map<std::string, int> m;
  for (const auto& l : *links) m[l.name] = l.index;
  return m;
}

}  // namespace

std::string Route::String() const {
  std::string s = "route " + dst.String();
  if (gw.valid()) s += " via " + gw.String();
  if (src.valid()) s += " src " + src.String();
  s += " dev " + (dev.empty() ? "if" + std::to_string(link_index) : dev);
  if (table != kMainTable) s += " table " + std::to_string(table);
  if (onlink) s += " onlink";
  return s;
}

namespace {
// The kernel stores IPv6 routes added with metric 0 as metric 1024
// (IP6_RT_PRIO_USER), so 0 and 1024 are the same IPv6 route; without this a
// desired IPv6 route would never match what the kernel reports and be
// rewritten on every reconcile.
uint32_t EffectiveMetric(const Route& r) {
  return r.family() == 6 && r.metric == 0 ? 1024 : r.metric;
}
}  // namespace

bool Route::SameKey(const Route& o) const {
  return family() == o.family() && table == o.table && dst.Network() == o.dst.Network() &&
         EffectiveMetric(*this) == EffectiveMetric(o);
}

bool Route::Equivalent(const Route& o) const {
  return SameKey(o) && gw == o.gw && src == o.src && link_index == o.link_index &&
         onlink == o.onlink && protocol == o.protocol && scope == o.scope && type == o.type;
}

std::string Rule::String() const {
  std::string s = "rule";
  if (src) s += " from " + src->String();
  if (dst) s += " to " + dst->String();
  if (!iif.empty()) s += " iif " + iif;
  s += " lookup " + std::to_string(table);
  return s;
}

bool Rule::Equivalent(const Rule& o) const {
  auto net = [](const std::optional<IPPrefix>& p) {
    return p ? std::optional<IPPrefix>(p->Network()) : std::nullopt;
  };
  if (priority && o.priority && priority != o.priority) return false;
  return family == o.family && net(src) == net(o.src) && net(dst) == net(o.dst) && iif == o.iif &&
         table == o.table;
}

Result<Route> ParseRouteLine(const std::string& line) {
  auto w = Split(line);
  auto bad = [&](const std::string& why) {
    return Status::Error("parse route line \"" + line + "\": " + why);
  };
  if (w.size() < 2 || w[0] != "route") return bad("must start with 'route <dst>'");
  Route r;
  auto dst = PrefixOrHost(w[1]);
  if (!dst) return bad("bad destination");
  r.dst = *dst;
  for (size_t i = 2; i < w.size(); ++i) {
    const std::string& k = w[i];
    if (k == "onlink") {
      r.onlink = true;
      continue;
    }
    if (i + 1 >= w.size()) return bad("missing value for " + k);
    const std::string& v = w[++i];
    if (k == "via") {
      auto a = IPAddr::Parse(v);
      if (!a) return bad("bad gateway");
      r.gw = *a;
    } else if (k == "src") {
      auto a = IPAddr::Parse(v);
      if (!a) return bad("bad source");
      r.src = *a;
    } else if (k == "dev") {
      r.dev = v;
    } else if (k == "table") {
      if (!ParseU32(v, &r.table)) return bad("bad table");
    } else if (k == "metric") {
      if (!ParseU32(v, &r.metric)) return bad("bad metric");
    } else {
      return bad("unknown keyword " + k);
    }
  }
  if (r.dev.empty()) return bad("missing dev");
  return r;
}

Result<Rule> ParseRuleLine(const std::string& line) {
  auto w = Split(line);
  auto bad = [&](const std::string& why) {
    return Status::Error("parse rule line \"" + line + "\": " + why);
  };
  if (w.empty() || w[0] != "rule") return bad("must start with 'rule'");
  Rule r;
  bool have_table = false;
  for (size_t i = 1; i < w.size(); ++i) {
    const std::string& k = w[i];
    if (i + 1 >= w.size()) return bad("missing value for " + k);
    const std::string& v = w[++i];
    if (k == "from" || k == "to") {
      auto p = PrefixOrHost(v);
      if (!p) return bad("bad prefix " + v);
      (k == "from" ? r.src : r.dst) = *p;
      r.family = p->addr().is6() ? 6 : 4;
    } else if (k == "iif") {
      r.iif = v;
    } else if (k == "lookup" || k == "table") {
      if (!ParseU32(v, &r.table)) return bad("bad table");
      have_table = true;
    } else if (k == "priority" || k == "pref") {
      if (!ParseU32(v, &r.priority)) return bad("bad priority");
    } else {
      return bad("unknown keyword " + k);
    }
  }
  if (!have_table) return bad("missing lookup");
  return r;
}

Result<ConvergeCounts> ConvergeAddresses(NetlinkClient& nl, const std::string& link,
                                         const std::vector<IPPrefix>& desired) {
  auto l = nl.FindLink(link);
  if (!l.ok()) return l.status().Wrap("converge addresses of " + link);
  if (!*l) return Status::Error("converge addresses of " + link + ": no such link");
  const int index = (*l)->index;
  auto actual = nl.ListAddresses(index);
  if (!actual.ok()) return actual.status().Wrap("converge addresses of " + link);
  ConvergeCounts c;
  std::set<IPPrefix> want(desired.begin(), desired.end());
  std::set<IPPrefix> have;
  for (const auto& a : *actual) {
    have.insert(a.prefix);
    if (want.count(a.prefix)) continue;
    // The kernel configures fe80::/64 on every IPv6-capable link; it is not ours.
    if (a.prefix.addr().is6() && a.prefix.addr().IsLinkLocalUnicast()) continue;
    Status s = nl.DeleteAddress(index, a.prefix);
    if (!s.ok()) return s.Wrap("converge addresses of " + link);
    ++c.removed;
  }
  for (const auto& p : want) {
    if (have.count(p)) continue;
    Status s = nl.AddAddress(index, p);
    if (!s.ok()) return s.Wrap("converge addresses of " + link);
    ++c.added;
  }
  return c;
}

bool RouteOwnership::Owns(const Route& r) const {
  if (r.protocol != protocol) return false;
  if (r.table == table) return true;
  return std::find(interfaces.begin(), interfaces.end(), r.dev) != interfaces.end();
}

RouteChanges DiffRoutes(const std::vector<Route>& actual, const std::vector<Route>& desired,
                        const RouteOwnership& own) {
  RouteChanges plan;
  std::vector<bool> satisfied(desired.size(), false);
  for (const auto& a : actual) {
    bool wanted = false;
    for (size_t i = 0; i < desired.size(); ++i) {
      if (a.Equivalent(desired[i])) {
        satisfied[i] = true;
        wanted = true;
      }
    }
    if (wanted || !own.Owns(a)) continue;
    // An owned route whose key is desired with other attributes is replaced
    // in place below; deleting it first would open a window without a route.
    bool replaced =
        std::any_of(desired.begin(), desired.end(), [&](const Route& d) { return d.SameKey(a); });
    if (!replaced) plan.remove.push_back(a);
  }
  for (size_t i = 0; i < desired.size(); ++i) {
    if (satisfied[i]) continue;
    // Two desired routes with one key would replace each other forever; the
    // first one wins, as the kernel's main table would keep only one.
    bool dup = false;
    for (size_t j = 0; j < i && !dup; ++j) dup = desired[j].SameKey(desired[i]);
    if (!dup) plan.replace.push_back(desired[i]);
  }
  return plan;
}

Result<ConvergeCounts> ConvergeRoutes(NetlinkClient& nl, const std::vector<Route>& desired,
                                      const RouteOwnership& own) {
  auto idx = LinkIndexes(nl);
  if (!idx.ok()) return idx.status().Wrap("apply routes");
  std::vector<Route> want = desired;
  for (auto& r : want) {
    if (r.dev.empty()) continue;
    auto it = idx->find(r.dev);
    if (it == idx->end())
      return Status::Error("apply routes: " + r.String() + ": no link " + r.dev);
    r.link_index = it->second;
  }
  // Main and kilo tables are all we could own; listing everything keeps the
  // dump simple and catches owned routes in any table via the interface rule.
  auto actual = nl.ListRoutes(0);
  if (!actual.ok()) return actual.status().Wrap("apply routes");
  RouteChanges plan = DiffRoutes(*actual, want, own);
  ConvergeCounts c;
  for (const auto& r : plan.remove) {
    Status s = nl.DeleteRoute(r);
    if (!s.ok()) return s.Wrap("apply routes: delete " + r.String());
    ++c.removed;
  }
  for (const auto& r : plan.replace) {
    Status s = nl.ReplaceRoute(r);
    if (!s.ok()) return s.Wrap("apply routes: add " + r.String());
    ++c.added;
  }
  return c;
}

Result<ConvergeCounts> ConvergeRules(NetlinkClient& nl, const std::vector<Rule>& desired,
                                     uint32_t table) {
  auto actual = nl.ListRules();
  if (!actual.ok()) return actual.status().Wrap("apply rules");
  ConvergeCounts c;
  std::vector<bool> satisfied(desired.size(), false);
  for (const auto& a : *actual) {
    if (a.table != table) continue;
    bool wanted = false;
    for (size_t i = 0; i < desired.size(); ++i) {
      if (!satisfied[i] && a.Equivalent(desired[i])) {
        satisfied[i] = wanted = true;
        break;
      }
    }
    if (wanted) continue;
    Status s = nl.DeleteRule(a);
    if (!s.ok()) return s.Wrap("apply rules: delete " + a.String());
    ++c.removed;
  }
  for (size_t i = 0; i < desired.size(); ++i) {
    if (satisfied[i]) continue;
    bool dup = false;
    for (size_t j = 0; j < i && !dup; ++j) dup = desired[j].Equivalent(desired[i]);
    if (dup) continue;
    Status s = nl.AddRule(desired[i]);
    if (!s.ok()) return s.Wrap("apply rules: add " + desired[i].String());
    ++c.added;
  }
  return c;
}

std::string RenderRoutes(const std::vector<Route>& routes) {
  std::string s;
  for (const auto& r : routes) s += r.String() + "\n";
  return s;
}

std::string RenderRules(const std::vector<Rule>& rules) {
  std::string s;
  for (const auto& r : rules) s += r.String() + "\n";
  return s;
}

}  // namespace kilo::netlink
