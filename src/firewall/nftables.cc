#include "firewall/nftables.h"

#include <nftables/libnftables.h>

#include <sstream>

namespace kilo::fw {

namespace {

struct CtxFree {
  void operator()(nft_ctx* ctx) const { nft_ctx_free(ctx); }
};
using Ctx = std::unique_ptr<nft_ctx, CtxFree>;

Result<Ctx> NewCtx() {
  Ctx ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (ctx == nullptr) return Result<Ctx>::Error("nftables: nft_ctx_new failed");
  // Buffer both streams: by default libnftables prints listings to stdout and
  // errors to stderr, and we need them as strings.
  if (nft_ctx_buffer_output(ctx.get()) != 0 || nft_ctx_buffer_error(ctx.get()) != 0)
    return Result<Ctx>::Error("nftables: cannot buffer output");
  // List protocols as numbers (`ip protocol 4`), as RenderNft writes them:
  // by default nft prints the name /etc/protocols gives ("ipencap", or
  // another on another host).
  nft_ctx_output_set_flags(ctx.get(),
                           nft_ctx_output_get_flags(ctx.get()) | NFT_CTX_OUTPUT_NUMERIC_PROTO);
  return ctx;
}

}  // namespace

Result<std::unique_ptr<LibNftRunner>> LibNftRunner::Create() {
  if (Result<Ctx> ctx = NewCtx(); !ctx.ok()) return ctx.status();
  return std::unique_ptr<LibNftRunner>(new LibNftRunner());
}

Result<std::string> LibNftRunner::Run(std::string_view commands) {
  Result<Ctx> ctx = NewCtx();
  if (!ctx.ok()) return ctx.status();
  std::string buf(commands);  // NUL-terminated copy
  int rc = nft_run_cmd_from_buffer(ctx->get(), buf.c_str());
  std::string out = nft_ctx_get_output_buffer(ctx->get());
  std::string err = nft_ctx_get_error_buffer(ctx->get());
  if (rc != 0) {
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    return Result<std::string>::Error(err.empty() ? "nft: command failed" : err);
  }
  return out;
}

NftablesFirewall::NftablesFirewall(std::unique_ptr<NftRunner> runner, std::string table)
    : runner_(std::move(runner)), table_(std::move(table)) {}

Result<std::string> NftablesFirewall::Current() {
  // `list table` of a missing table is an error, indistinguishable from other
  // errors except by message text; list the inet tables' names instead.
  Result<std::string> tables = runner_->Run("list tables inet");
  if (!tables.ok()) return tables.status().Wrap("nftables: list tables");
  bool present = false;
  std::istringstream in(*tables);
  std::string line;
  const std::string want = "table inet " + table_;
  while (std::getline(in, line)) {
    if (NormaliseNft(line) == want) present = true;
  }
  if (!present) return std::string();
  Result<std::string> listing = runner_->Run("list table inet " + table_);
  if (!listing.ok()) return listing.status().Wrap("nftables: list table inet " + table_);
  return listing;
}

Result<int> NftablesFirewall::Apply(const RuleSet& desired) {
  if (Status s = Validate(desired); !s.ok()) return s.Wrap("apply nftables");
  Result<std::string> current = Current();
  if (!current.ok()) return current.status().Wrap("apply nftables");
  std::string now = NormaliseNft(*current);
  if (now == NormaliseNft(RenderNft(desired, table_))) return 0;
  if (last_desired_ && *last_desired_ == desired && now == last_listing_ && !now.empty()) return 0;

  // One buffer, one transaction: the kernel never sees a half-built table, and
  // packets are NATed either by the old rules or by the new ones.
  last_desired_.reset();
  Result<std::string> r = runner_->Run(RenderNftReplace(desired, table_));
  if (!r.ok()) return r.status().Wrap("apply nftables: replace table inet " + table_);
  Result<std::string> after = Current();
  if (after.ok()) {
    last_desired_ = desired;
    last_listing_ = NormaliseNft(*after);
  }
  return 1;
}

Status NftablesFirewall::CleanUp() {
  last_desired_.reset();
  // nft 1.0.6 has no `destroy table`; declaring the table first makes the
  // delete succeed when it is absent, in the same transaction.
  Result<std::string> r =
      runner_->Run("table inet " + table_ + " {}\ndelete table inet " + table_ + "\n");
  if (!r.ok()) return r.status().Wrap("clean up nftables: delete table inet " + table_);
  return Status::Ok();
}

}  // namespace kilo::fw
