#pragma once
// The firewall plan as plain data, and its renderings to nftables and
// iptables-restore text.
//
// The core computes a RuleSet from the topology (core/firewall_plan.h), as
// Kilo's pkg/mesh/routes.go Rules() does; the backends in src/firewall converge
// the kernel to it, and `kgctl plan` prints RenderNft() of it. It lives in the
// core because it is pure: no I/O, no libnftables, and the renderers are pure
// functions of their inputs. The namespace kilo::fw names its subject, not its
// directory.
//
// Model. A RuleSet is written in iptables terms, because that is how Kilo
// defines it:
//   - `chains` declares the regular chains Kilo owns (e.g. nat/KILO-NAT), one
//     entry per family. Their names must start with "KILO-" so that the
//     iptables backend can tell its own chains from everybody else's.
//   - `rules` are in evaluation order *within each (family, table, chain)*.
//     Rules of different families never match the same packet, so their
//     relative order does not matter (the nft renderer interleaves them in a
//     single inet table).
//   - A rule's chain is either one of the declared regular chains or one of
//     the built-in chains Kilo hooks into: "POSTROUTING" (table nat),
//     "FORWARD" (table filter) and, only for the IPIP rules of
//     --compatibility=cilium, "INPUT" (table filter). The backends never
//     write to the built-in chains themselves; they map them to chains of
//     their own (see RenderNft / RenderIptablesRestore) so foreign rules are
//     never touched.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ip.h"
#include "core/status.h"

namespace kilo::fw {

enum class Family : uint8_t { kIPv4 = 4, kIPv6 = 6 };
enum class Table : uint8_t { kNat, kFilter };
enum class Verdict : uint8_t {
  kJump,        // jump to Rule::target, a declared regular chain
  kReturn,      // return to the calling chain
  kAccept,      // accept (filter table)
  kMasquerade,  // source-NAT to the outgoing interface's address (nat table)
  kDrop,        // drop (filter table)
};

// Names shared by the core and the backends.
inline constexpr std::string_view kNatChain = "KILO-NAT";
inline constexpr std::string_view kPostroutingChain = "POSTROUTING";  // built-in, nat
inline constexpr std::string_view kForwardChain = "FORWARD";          // built-in, filter
inline constexpr std::string_view kInputChain = "INPUT";              // built-in, filter
// IP protocol number of IPIP (IPPROTO_IPIP, "ipencap" in /etc/protocols).
inline constexpr uint8_t kProtoIPIP = 4;
// Every regular chain must carry this prefix (ownership marker).
inline constexpr std::string_view kChainPrefix = "KILO-";
// Comments longer than this are truncated: nft(8) refuses comments longer than
// 128 bytes, and both renderings must carry the same text.
inline constexpr size_t kMaxCommentLen = 128;

// Returns the family of an address prefix. REQUIRES: p.valid().
inline Family FamilyOf(const IPPrefix& p) { return p.addr().is6() ? Family::kIPv6 : Family::kIPv4; }

// A regular (non built-in) chain Kilo owns.
struct Chain {
  Family family = Family::kIPv4;
  Table table = Table::kNat;
  std::string name;  // e.g. "KILO-NAT"

  friend bool operator==(const Chain&, const Chain&) = default;
};

// One rule: optional source, destination and protocol match, a comment, a
// verdict.
struct Rule {
  Family family = Family::kIPv4;
  Table table = Table::kNat;
  std::string chain;            // "POSTROUTING", "FORWARD" or a declared chain
  std::optional<IPPrefix> src;  // family must equal `family`; host bits are ignored
  std::optional<IPPrefix> dst;  // idem
  std::string comment;          // free text; see SanitizeComment
  Verdict verdict = Verdict::kReturn;
  std::string target;  // the chain to jump to; only for Verdict::kJump
  // IP protocol to match (IPv6: the upper-layer header, as ip6tables -p);
  // 0 = any.
  uint8_t protocol = 0;

  friend bool operator==(const Rule&, const Rule&) = default;
};

struct RuleSet {
  std::vector<Chain> chains;
  std::vector<Rule> rules;

  // Convenience builders for the core. They only append; order is the caller's.
  void AddChain(Family f, Table t, std::string name) {
    chains.push_back(Chain{f, t, std::move(name)});
  }
  void AddRule(Rule r) { rules.push_back(std::move(r)); }

  friend bool operator==(const RuleSet&, const RuleSet&) = default;
};

// Returns OK when `rs` can be rendered: chain names are unique per
// (family, table) and start with "KILO-"; every rule's chain is built-in for its
// table or declared for its family and table; src/dst families match the rule's;
// jump targets are declared chains of the same family and table; MASQUERADE
// only in nat, DROP only in filter. Otherwise an error naming the first
// offending rule.
Status Validate(const RuleSet& rs);

// Returns `comment` made safe for both nft and iptables-restore: control
// characters become spaces, the quote characters " ' and the backslash become
// '_' (nft's lexer has no escapes inside quoted strings, and iptables-save
// escapes them, which would break the comparison of the saved state with the
// rendered one), and the result is cut to kMaxCommentLen bytes.
std::string SanitizeComment(std::string_view comment);

// Returns an `nft -f` script that defines `table inet <table>` holding every
// rule of both families:
//   - each declared regular chain once (chains of the same name in both
//     families are merged; rules keep their order per family);
//   - base chain "postrouting" (type nat hook postrouting priority srcnat) for
//     the rules of nat/POSTROUTING, and base chain "forward" (type filter hook
//     forward priority filter) for filter/FORWARD; both with policy accept, both
//     always present so the table's shape does not depend on the plan;
//   - base chain "input" (type filter hook input priority filter; policy
//     accept) for filter/INPUT, only when the plan has rules there;
//   - one rule per line, `ip`/`ip6` matches, `meta nfproto ipvX` for rules with
//     no address or protocol match, comments kept; a protocol as `ip protocol
//     N` (IPv4) or `meta l4proto N` (IPv6), numerically.
// The text is laid out the way `nft list table` prints it (tabs, /32 and /128
// written as plain addresses, host bits cleared, protocols as numbers with
// NFT_CTX_OUTPUT_NUMERIC_PROTO), so that the listing of the applied table
// compares equal line by line (see NormaliseNft).
// REQUIRES: Validate(rs).ok().
std::string RenderNft(const RuleSet& rs, std::string_view table = "kilo");

// Returns RenderNft() preceded by `table inet <table> {}` and
// `delete table inet <table>`: applied with one nft_run_cmd_from_buffer() call
// it replaces the table in a single transaction, and the empty declaration
// makes the delete succeed when the table does not exist yet.
std::string RenderNftReplace(const RuleSet& rs, std::string_view table = "kilo");

// Returns the lines of an nft listing with surrounding blanks trimmed and empty
// lines dropped, joined by '\n'. Used to compare listings with renderings.
std::string NormaliseNft(std::string_view listing);

// Extra instructions for RenderIptablesRestore, computed by the iptables
// backend from the current state. All empty by default.
struct IptablesRestoreExtras {
  // Built-in chains ("POSTROUTING", "FORWARD", "INPUT") whose jump rule into
  // KILO-POSTROUTING / KILO-FORWARD / KILO-INPUT is missing: inserted at the
  // top, except INPUT's, appended at the end as Kilo appends its IPIP rules
  // to INPUT (rules already in INPUT come first).
  std::vector<std::string> insert_jumps;
  // Rules to delete, in iptables-save form without the leading "-A "
  // (e.g. "POSTROUTING -s 10.2.0.0/24 -m comment --comment ... -j KILO-NAT"),
  // paired with their table. Used for duplicate jumps and for rules an older
  // Kilo placed directly into built-in chains.
  std::vector<std::pair<Table, std::string>> delete_rules;
  // Stale KILO-* chains (no longer in the plan) to flush and delete.
  std::vector<std::pair<Table, std::string>> delete_chains;
};

// The chains the iptables rendering uses for the built-in ones, and the
// comment on the single jump from the built-in chain into them.
inline constexpr std::string_view kIptPostroutingChain = "KILO-POSTROUTING";
inline constexpr std::string_view kIptForwardChain = "KILO-FORWARD";
inline constexpr std::string_view kIptInputChain = "KILO-INPUT";
std::string IptablesJumpComment(std::string_view kilo_chain);
// Returns the built-in chains of `table` Kilo hooks into in this plan and
// family: POSTROUTING (nat); FORWARD, and INPUT when the plan has rules there
// (filter).
std::vector<std::string> IptablesBuiltins(const RuleSet& rs, Family family, Table table);
// Returns the jump rule from a built-in chain into its KILO-* chain, in
// iptables-save form without "-A ", e.g.
// `POSTROUTING -m comment --comment "Kilo: jump to KILO-POSTROUTING chain" -j KILO-POSTROUTING`.
std::string IptablesJumpRule(std::string_view builtin_chain);

// Returns the rules of one family and table as iptables-save lines
// ("-A CHAIN ..."), in plan order and in the exact form iptables-save prints
// them (so the backend can compare them with the saved state). Rules of
// nat/POSTROUTING go to KILO-POSTROUTING, of filter/FORWARD to KILO-FORWARD
// and of filter/INPUT to KILO-INPUT. A protocol is written as a number
// (`-p 4`): iptables-save prints the name /etc/protocols gives it instead,
// which the backend maps back before comparing. REQUIRES: Validate(rs).ok().
std::vector<std::string> RenderIptablesRules(const RuleSet& rs, Family family, Table table);

// Returns input for `iptables-restore --noflush` (family kIPv4) or
// `ip6tables-restore --noflush` (kIPv6). For each of the nat and filter tables
// it declares (so creates, or flushes when present) only the KILO-* chains of
// the plan plus KILO-POSTROUTING (nat) and KILO-FORWARD (filter), then appends
// the rules, then applies `extras` (jump inserts, deletions). With --noflush no
// other chain is touched. REQUIRES: Validate(rs).ok().
std::string RenderIptablesRestore(const RuleSet& rs, Family family,
                                  const IptablesRestoreExtras& extras = {});

// Returns the declared regular chains of one family and table, plus the fixed
// KILO-POSTROUTING (nat) or KILO-FORWARD (filter), and KILO-INPUT (filter)
// when the plan has INPUT rules of the family, in rendering order.
std::vector<std::string> IptablesChains(const RuleSet& rs, Family family, Table table);

std::string_view TableName(Table t);  // "nat" / "filter"

}  // namespace kilo::fw
