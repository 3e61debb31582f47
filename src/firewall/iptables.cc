#include "firewall/iptables.h"

#include <algorithm>
#include <sstream>

namespace kilo::fw {
namespace {

std::string BuiltinFor(Table t) {
  return std::string(t == Table::kNat ? kPostroutingChain : kForwardChain);
}

bool StartsWith(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

IptablesFirewall::IptablesFirewall(std::unique_ptr<CommandRunner> runner, IptablesOptions opts)
    : runner_(std::move(runner)), opts_(std::move(opts)) {}

IptablesFirewall::Owned IptablesFirewall::ParseSave(const std::string& save, Table table) {
  Owned o;
  const std::string builtin = BuiltinFor(table);
  const std::string jump = "-A " + IptablesJumpRule(builtin);
  std::istringstream in(save);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (StartsWith(line, ":KILO-")) {
      o.chains.push_back(line.substr(1, line.find(' ') - 1));
    } else if (StartsWith(line, "-A KILO-")) {
      o.rules.push_back(line);
    } else if (line == jump) {
      o.jumps.push_back(line);
    } else if (StartsWith(line, "-A " + builtin + " ") &&
               (line.find("--comment \"Kilo: ") != std::string::npos)) {
      o.legacy.push_back(line);
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
    const std::string builtin = BuiltinFor(t);
    if (cur->jumps.empty()) {
      extras.insert_jumps.push_back(builtin);
      differs = true;
    }
    for (size_t i = 1; i < cur->jumps.size(); ++i) {
      extras.delete_rules.push_back({t, IptablesJumpRule(builtin)});
      differs = true;
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
