#include "firewall/iptables.h"

#include <netdb.h>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace kilo::fw {
namespace {

// Every built-in chain of `t` Kilo may hook into (whether or not the current
// plan does).
std::vector<std::string> BuiltinsOf(Table t) {
  if (t == Table::kNat) return {std::string(kPostroutingChain)};
  return {std::string(kForwardChain), std::string(kInputChain)};
}

bool StartsWith(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// iptables-save prints a protocol by the name /etc/protocols gives it (`-p
// ipencap` for 4, or whatever this host's file says); the rendering writes
// the number. Maps the name back so that the two compare equal.
std::string NumericProtocol(std::string line) {
  size_t at = line.find(" -p ");
  if (at == std::string::npos) return line;
  size_t b = at + 4, e = line.find(' ', b);
  if (e == std::string::npos) e = line.size();
  std::string name = line.substr(b, e - b);
  if (name.empty() ||
      std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isdigit(c); }))
    return line;
  protoent pe{}, *res = nullptr;
  char buf[1024];
  if (getprotobyname_r(name.c_str(), &pe, buf, sizeof buf, &res) != 0 || res == nullptr)
    return line;
  return line.substr(0, b) + std::to_string(res->p_proto) + line.substr(e);
}

}  // namespace

IptablesFirewall::IptablesFirewall(std::unique_ptr<CommandRunner> runner, IptablesOptions opts)
    : runner_(std::move(runner)), opts_(std::move(opts)) {}

IptablesFirewall::Owned IptablesFirewall::ParseSave(const std::string& save, Table table) {
  Owned o;
  const std::vector<std::string> builtins = BuiltinsOf(table);
  std::istringstream in(save);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (StartsWith(line, ":KILO-")) {
      o.chains.push_back(line.substr(1, line.find(' ') - 1));
    } else if (StartsWith(line, "-A KILO-")) {
      o.rules.push_back(NumericProtocol(line));
    } else {
      for (const std::string& b : builtins) {
        if (line == "-A " + IptablesJumpRule(b)) {
          o.jumps.push_back(line);
        } else if (StartsWith(line, "-A " + b + " ") &&
                   (line.find("--comment \"Kilo: ") != std::string::npos)) {
          o.legacy.push_back(line);
        }
      }
    }
  }
  return o;
}

Result<IptablesFirewall::Owned> IptablesFirewall::Read(Family f, Table t) {
  const std::string& bin = f == Family::kIPv4 ? opts_.iptables_save : opts_.ip6tables_save;
  Result<CommandOutput> r = runner_->Run({bin, "-t", std::string(TableName(t))}, "");
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return Result<Owned>::Error(bin + " -t " + std::string(TableName(t)) + ": exit " +
                                std::to_string(r->exit_code) + ": " + Trim(r->err));
  }
  return ParseSave(r->out, t);
}

Status IptablesFirewall::Restore(Family f, const std::string& input) {
  const std::string& bin = f == Family::kIPv4 ? opts_.iptables_restore : opts_.ip6tables_restore;
  // -w: wait for the xtables lock instead of failing when kube-proxy or another
  // agent holds it (legacy backend; harmless with iptables-nft).
  Result<CommandOutput> r = runner_->Run({bin, "-w", "--noflush"}, input);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return Status::Error(bin + " --noflush: exit " + std::to_string(r->exit_code) + ": " +
                         Trim(r->err));
  }
  return Status::Ok();
}

Result<int> IptablesFirewall::ApplyFamily(const RuleSet& desired, Family f) {
  IptablesRestoreExtras extras;
  bool differs = false;
  for (Table t : {Table::kNat, Table::kFilter}) {
    Result<Owned> cur = Read(f, t);
    if (!cur.ok()) return cur.status();
    std::vector<std::string> want_chains = IptablesChains(desired, f, t);
    for (const std::string& c : cur->chains) {
      if (std::find(want_chains.begin(), want_chains.end(), c) == want_chains.end()) {
        extras.delete_chains.push_back({t, c});
        differs = true;
      }
    }
    for (const std::string& c : want_chains) {
      if (std::find(cur->chains.begin(), cur->chains.end(), c) == cur->chains.end()) differs = true;
    }
    // iptables-save prints the rules of one chain after another, in the order
    // of the chain declarations, so compare chain by chain.
    std::vector<std::string> want_rules = RenderIptablesRules(desired, f, t);
    for (const std::string& c : want_chains) {
      std::string prefix = "-A " + c + " ";
      std::vector<std::string> a, b;
      std::copy_if(cur->rules.begin(), cur->rules.end(), std::back_inserter(a),
                   [&](const std::string& l) { return StartsWith(l, prefix); });
      std::copy_if(want_rules.begin(), want_rules.end(), std::back_inserter(b),
                   [&](const std::string& l) { return StartsWith(l, prefix); });
      if (a != b) differs = true;
    }
    // One jump per built-in chain the plan uses; none into the others (the
    // INPUT jump of an earlier plan with IPIP rules).
    const std::vector<std::string> wanted = IptablesBuiltins(desired, f, t);
    for (const std::string& builtin : BuiltinsOf(t)) {
      const std::string jump = "-A " + IptablesJumpRule(builtin);
      size_t have = static_cast<size_t>(std::count(cur->jumps.begin(), cur->jumps.end(), jump));
      size_t keep = std::count(wanted.begin(), wanted.end(), builtin) ? 1 : 0;
      if (keep && !have) {
        extras.insert_jumps.push_back(builtin);
        differs = true;
      }
      for (size_t i = keep; i < have; ++i) {
        extras.delete_rules.push_back({t, IptablesJumpRule(builtin)});
        differs = true;
      }
    }
    for (const std::string& l : cur->legacy) {
      extras.delete_rules.push_back({t, l.substr(3)});  // drop "-A "
      differs = true;
    }
  }
  if (!differs) return 0;
  if (Status s = Restore(f, RenderIptablesRestore(desired, f, extras)); !s.ok()) return s;
  return 1;
}

Result<int> IptablesFirewall::Apply(const RuleSet& desired) {
  if (Status s = Validate(desired); !s.ok()) return s.Wrap("apply iptables");
  int writes = 0;
  for (Family f : {Family::kIPv4, Family::kIPv6}) {
    if (f == Family::kIPv6 && !opts_.ipv6) continue;
    Result<int> r = ApplyFamily(desired, f);
    if (!r.ok()) return r.status().Wrap("apply iptables");
    writes += *r;
  }
  return writes;
}

Status IptablesFirewall::CleanUp() {
  for (Family f : {Family::kIPv4, Family::kIPv6}) {
    if (f == Family::kIPv6 && !opts_.ipv6) continue;
    std::string input;
    for (Table t : {Table::kNat, Table::kFilter}) {
      Result<Owned> cur = Read(f, t);
      if (!cur.ok()) return cur.status().Wrap("clean up iptables");
      if (cur->empty()) continue;
      input += "*" + std::string(TableName(t)) + "\n";
      // Flush every KILO-* chain (a declaration flushes under --noflush), drop
      // the rules in the built-in chain that reference them, then delete them:
      // -X refuses a chain that still has rules or is still referenced.
      for (const std::string& c : cur->chains) input += ":" + c + " - [0:0]\n";
      for (const std::string& l : cur->jumps) input += "-D " + l.substr(3) + "\n";
      for (const std::string& l : cur->legacy) input += "-D " + l.substr(3) + "\n";
      for (const std::string& c : cur->chains) input += "-X " + c + "\n";
      input += "COMMIT\n";
    }
    if (input.empty()) continue;
    if (Status s = Restore(f, input); !s.ok()) return s.Wrap("clean up iptables");
  }
  return Status::Ok();
}

Result<std::string> IptablesFirewall::Current() {
  std::string out;
  for (Family f : {Family::kIPv4, Family::kIPv6}) {
    if (f == Family::kIPv6 && !opts_.ipv6) continue;
    std::string fam;
    for (Table t : {Table::kNat, Table::kFilter}) {
      Result<Owned> cur = Read(f, t);
      if (!cur.ok()) return cur.status().Wrap("list iptables");
      if (cur->empty()) continue;
      fam += "*" + std::string(TableName(t)) + "\n";
      for (const std::string& c : cur->chains) fam += ":" + c + "\n";
      for (const auto* v : {&cur->jumps, &cur->legacy, &cur->rules}) {
        for (const std::string& l : *v) fam += l + "\n";
      }
    }
    if (!fam.empty()) {
      out += "# " + (f == Family::kIPv4 ? opts_.iptables_save : opts_.ip6tables_save) + "\n" + fam;
    }
  }
  return out;
}

}  // namespace kilo::fw
