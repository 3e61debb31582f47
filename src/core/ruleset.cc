#include "core/ruleset.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

namespace kilo::fw {
namespace {

bool IsBuiltin(Table t, std::string_view chain) {
  return (t == Table::kNat && chain == kPostroutingChain) ||
         (t == Table::kFilter && (chain == kForwardChain || chain == kInputChain));
}

bool HasRulesIn(const RuleSet& rs, Table t, std::string_view chain) {
  return std::any_of(rs.rules.begin(), rs.rules.end(),
                     [&](const Rule& r) { return r.table == t && r.chain == chain; });
}
bool HasRulesIn(const RuleSet& rs, Family f, Table t, std::string_view chain) {
  return std::any_of(rs.rules.begin(), rs.rules.end(), [&](const Rule& r) {
    return r.family == f && r.table == t && r.chain == chain;
  });
}

std::string FamilyName(Family f) { return f == Family::kIPv4 ? "ipv4" : "ipv6"; }

std::string Describe(const Rule& r) {
  std::string s = FamilyName(r.family) + " " + std::string(TableName(r.table)) + "/" + r.chain;
  if (r.src) s += " -s " + r.src->String();
  if (r.dst) s += " -d " + r.dst->String();
  if (r.protocol) s += " -p " + std::to_string(r.protocol);
  if (!r.comment.empty()) s += " (" + r.comment + ")";
  return s;
}

// nft prints a host prefix as the bare address and always clears host bits.
std::string NftPrefix(const IPPrefix& p) {
  IPPrefix n = p.Network();
  if (n.bits() == n.addr().bitlen()) return n.addr().String();
  return n.String();
}

// iptables-save always prints "/bits" and clears host bits.
std::string IptPrefix(const IPPrefix& p) { return p.Network().String(); }

// Quotes like libxtables' xtables_save_string(): bare when every character is in
// [A-Za-z0-9_-], otherwise in double quotes. SanitizeComment() has removed the
// characters it would escape.
std::string IptQuote(const std::string& s) {
  bool bare = !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-';
  });
  return bare ? s : "\"" + s + "\"";
}

std::string NftVerdict(const Rule& r) {
  switch (r.verdict) {
    case Verdict::kJump:
      return "jump " + r.target;
    case Verdict::kReturn:
      return "return";
    case Verdict::kAccept:
      return "accept";
    case Verdict::kMasquerade:
      return "masquerade";
    case Verdict::kDrop:
      return "drop";
  }
  return "";
}

std::string IptTarget(const Rule& r) {
  switch (r.verdict) {
    case Verdict::kJump:
      return r.target;
    case Verdict::kReturn:
      return "RETURN";
    case Verdict::kAccept:
      return "ACCEPT";
    case Verdict::kMasquerade:
      return "MASQUERADE";
    case Verdict::kDrop:
      return "DROP";
  }
  return "";
}

std::string NftRuleLine(const Rule& r) {
  const char* kw = r.family == Family::kIPv4 ? "ip" : "ip6";
  std::string s;
  if (r.src) s += std::string(kw) + " saddr " + NftPrefix(*r.src) + " ";
  if (r.dst) s += std::string(kw) + " daddr " + NftPrefix(*r.dst) + " ";
  // In an inet table a rule without an address match would see both families;
  // the plan's per-family rules (e.g. MASQUERADE) must stay per family.
  // `ip protocol` implies IPv4 (nft adds the dependency and hides it in the
  // listing); `meta l4proto` does not, and is what ip6tables -p matches.
  bool family_implied = r.src || r.dst || (r.protocol && r.family == Family::kIPv4);
  if (!family_implied) s += "meta nfproto " + FamilyName(r.family) + " ";
  if (r.protocol) {
    s += (r.family == Family::kIPv4 ? "ip protocol " : "meta l4proto ") +
         std::to_string(r.protocol) + " ";
  }
  s += NftVerdict(r);
  std::string c = SanitizeComment(r.comment);
  if (!c.empty()) s += " comment \"" + c + "\"";
  return s;
}

std::string IptChainFor(const Rule& r) {
  if (r.table == Table::kNat && r.chain == kPostroutingChain)
    return std::string(kIptPostroutingChain);
  if (r.table == Table::kFilter && r.chain == kForwardChain) return std::string(kIptForwardChain);
  if (r.table == Table::kFilter && r.chain == kInputChain) return std::string(kIptInputChain);
  return r.chain;
}

std::string IptRuleLine(const Rule& r) {
  // Same order as iptables-save prints: address matches, then modules, then target.
  std::string s = "-A " + IptChainFor(r);
  if (r.src) s += " -s " + IptPrefix(*r.src);
  if (r.dst) s += " -d " + IptPrefix(*r.dst);
  if (r.protocol) s += " -p " + std::to_string(r.protocol);
  std::string c = SanitizeComment(r.comment);
  if (!c.empty()) s += " -m comment --comment " + IptQuote(c);
  s += " -j " + IptTarget(r);
  return s;
}

}  // namespace

std::string_view TableName(Table t) { return t == Table::kNat ? "nat" : "filter"; }

Status Validate(const RuleSet& rs) {
  std::set<std::tuple<Family, Table, std::string>> declared;
  std::set<std::pair<std::string, Table>> name_table;
  for (const Chain& c : rs.chains) {
    if (c.name.rfind(kChainPrefix, 0) != 0 || c.name.size() == kChainPrefix.size()) {
      return Status::Error("chain " + c.name + ": name must start with " +
                           std::string(kChainPrefix));
    }
    if (c.name == kIptPostroutingChain || c.name == kIptForwardChain || c.name == kIptInputChain) {
      return Status::Error("chain " + c.name + ": name is reserved by the iptables backend");
    }
    // Chain names may only use characters that need no quoting in either syntax.
    for (unsigned char ch : c.name) {
      if (!std::isalnum(ch) && ch != '-' && ch != '_') {
        return Status::Error("chain " + c.name + ": invalid character");
      }
    }
    if (c.name.size() > 28) return Status::Error("chain " + c.name + ": name too long");
    if (!declared.insert({c.family, c.table, c.name}).second) {
      return Status::Error("chain " + c.name + ": declared twice");
    }
    // In the single inet table a name denotes one chain for both families, so
    // it cannot belong to two tables.
    name_table.insert({c.name, c.table});
    for (Table other : {Table::kNat, Table::kFilter}) {
      if (other != c.table && name_table.count({c.name, other})) {
        return Status::Error("chain " + c.name + ": declared in both nat and filter");
      }
    }
  }
  for (const Rule& r : rs.rules) {
    auto fail = [&](const std::string& why) {
      return Status::Error("rule " + Describe(r) + ": " + why);
    };
    if (!IsBuiltin(r.table, r.chain) && !declared.count({r.family, r.table, r.chain})) {
      return fail("chain is neither built-in for the table nor declared");
    }
    for (const auto* p : {&r.src, &r.dst}) {
      if (!p->has_value()) continue;
      if (!(*p)->valid()) return fail("invalid prefix");
      if (FamilyOf(**p) != r.family) return fail("prefix family differs from the rule's");
    }
    if (r.verdict == Verdict::kJump) {
      if (!declared.count({r.family, r.table, r.target}))
        return fail("jump target " + r.target + " not declared");
    } else if (!r.target.empty()) {
      return fail("target set on a non-jump verdict");
    }
    if (r.verdict == Verdict::kMasquerade && r.table != Table::kNat)
      return fail("MASQUERADE outside nat");
    if (r.verdict == Verdict::kDrop && r.table != Table::kFilter)
      return fail("DROP outside filter");
  }
  return Status::Ok();
}

std::string SanitizeComment(std::string_view comment) {
  std::string out;
  out.reserve(std::min(comment.size(), kMaxCommentLen));
  for (unsigned char c : comment) {
    if (out.size() == kMaxCommentLen) break;
    if (c < 0x20 || c == 0x7f) {
      out += ' ';
    } else if (c == '"' || c == '\'' || c == '\\') {
      out += '_';
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string RenderNft(const RuleSet& rs, std::string_view table) {
  // Regular chains once each, in order of first declaration.
  std::vector<std::string> regular;
  for (const Chain& c : rs.chains) {
    if (std::find(regular.begin(), regular.end(), c.name) == regular.end())
      regular.push_back(c.name);
  }
  auto rules_of = [&](Table t, std::string_view chain) {
    std::string s;
    for (const Rule& r : rs.rules) {
      if (r.chain == chain && (IsBuiltin(r.table, chain) ? r.table == t : true)) {
        s += "\t\t" + NftRuleLine(r) + "\n";
      }
    }
    return s;
  };
  std::string out = "table inet " + std::string(table) + " {\n";
  bool first = true;
  auto chain = [&](const std::string& name, const std::string& header, const std::string& body) {
    if (!first) out += "\n";  // nft separates chains with an empty line
    first = false;
    out += "\tchain " + name + " {\n";
    if (!header.empty()) out += "\t\t" + header + "\n";
    out += body;
    out += "\t}\n";
  };
  for (const std::string& name : regular) chain(name, "", rules_of(Table::kNat, name));
  chain("postrouting", "type nat hook postrouting priority srcnat; policy accept;",
        rules_of(Table::kNat, kPostroutingChain));
  chain("forward", "type filter hook forward priority filter; policy accept;",
        rules_of(Table::kFilter, kForwardChain));
  if (HasRulesIn(rs, Table::kFilter, kInputChain)) {
    chain("input", "type filter hook input priority filter; policy accept;",
          rules_of(Table::kFilter, kInputChain));
  }
  out += "}\n";
  return out;
}

std::string RenderNftReplace(const RuleSet& rs, std::string_view table) {
  std::string t(table);
  return "table inet " + t + " {}\ndelete table inet " + t + "\n" + RenderNft(rs, table);
}

std::string NormaliseNft(std::string_view listing) {
  std::string out;
  std::istringstream in{std::string(listing)};
  std::string line;
  while (std::getline(in, line)) {
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    size_t e = line.find_last_not_of(" \t\r");
    if (!out.empty()) out += '\n';
    out += line.substr(b, e - b + 1);
  }
  return out;
}

std::string IptablesJumpComment(std::string_view kilo_chain) {
  return "Kilo: jump to " + std::string(kilo_chain) + " chain";
}

std::vector<std::string> IptablesBuiltins(const RuleSet& rs, Family family, Table table) {
  if (table == Table::kNat) return {std::string(kPostroutingChain)};
  std::vector<std::string> out = {std::string(kForwardChain)};
  if (HasRulesIn(rs, family, Table::kFilter, kInputChain)) out.emplace_back(kInputChain);
  return out;
}

std::string IptablesJumpRule(std::string_view builtin_chain) {
  std::string target(builtin_chain == kForwardChain ? kIptForwardChain
                     : builtin_chain == kInputChain ? kIptInputChain
                                                    : kIptPostroutingChain);
  return std::string(builtin_chain) + " -m comment --comment " +
         IptQuote(IptablesJumpComment(target)) + " -j " + target;
}

std::vector<std::string> IptablesChains(const RuleSet& rs, Family family, Table table) {
  std::vector<std::string> out;
  for (const Chain& c : rs.chains) {
    if (c.family == family && c.table == table) out.push_back(c.name);
  }
  out.push_back(std::string(table == Table::kNat ? kIptPostroutingChain : kIptForwardChain));
  if (table == Table::kFilter && HasRulesIn(rs, family, table, kInputChain))
    out.emplace_back(kIptInputChain);
  return out;
}

std::vector<std::string> RenderIptablesRules(const RuleSet& rs, Family family, Table table) {
  std::vector<std::string> out;
  for (const Rule& r : rs.rules) {
    if (r.family == family && r.table == table) out.push_back(IptRuleLine(r));
  }
  return out;
}

std::string RenderIptablesRestore(const RuleSet& rs, Family family,
                                  const IptablesRestoreExtras& extras) {
  std::string out;
  for (Table t : {Table::kNat, Table::kFilter}) {
    out += "*" + std::string(TableName(t)) + "\n";
    // Declaring a chain with --noflush creates it, or flushes it when it exists;
    // no other chain of the table is affected.
    for (const std::string& c : IptablesChains(rs, family, t)) out += ":" + c + " - [0:0]\n";
    for (const auto& [dt, c] : extras.delete_chains) {
      if (dt == t) out += ":" + c + " - [0:0]\n";  // flush first: -X needs an empty chain
    }
    for (const std::string& line : RenderIptablesRules(rs, family, t)) out += line + "\n";
    for (const auto& [dt, rule] : extras.delete_rules) {
      if (dt == t) out += "-D " + rule + "\n";
    }
    std::string_view builtin = t == Table::kNat ? kPostroutingChain : kForwardChain;
    for (const std::string& b : extras.insert_jumps) {
      if (b == builtin) out += "-I " + IptablesJumpRule(b) + "\n";
    }
    // Appended, not inserted: Kilo appends its IPIP rules to INPUT.
    for (const std::string& b : extras.insert_jumps) {
      if (t == Table::kFilter && b == kInputChain) out += "-A " + IptablesJumpRule(b) + "\n";
    }
    // After the flushes and the -D of any rule jumping to them, stale chains are
    // unreferenced and can go.
    for (const auto& [dt, c] : extras.delete_chains) {
      if (dt == t) out += "-X " + c + "\n";
    }
    out += "COMMIT\n";
  }
  return out;
}

}  // namespace kilo::fw
