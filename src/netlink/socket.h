#pragma once
// A thin RAII wrapper over a libmnl netlink socket, shared by rtnetlink
// (src/netlink) and WireGuard generic netlink (src/wg).

#include <linux/netlink.h>

#include <functional>
#include <memory>
#include <string>

#include "core/status.h"

struct mnl_socket;

namespace kilo::netlink {

// Outcome of one request/reply exchange.
struct NlReply {
  int error = 0;                  // positive errno from the kernel's NLMSG_ERROR, 0 on success
  bool dump_interrupted = false;  // a reply carried NLM_F_DUMP_INTR
};

// Walks the messages of one received datagram (`len` bytes at `buf`) as
// NetlinkSocket::Transact does: skips messages of other requests (`seq`,
// `portid`), records NLM_F_DUMP_INTR, ends at NLMSG_ERROR (the ACK or an
// errno, stored in reply->error) or NLMSG_DONE, skips NOOP/OVERRUN, and calls
// `on_msg` for each data message. Returns true when the reply is complete,
// false when more datagrams follow; fails when `on_msg` fails or an error
// message is truncated. Pure (no socket): for tests and fuzzing.
Result<bool> ScanReply(const void* buf, size_t len, unsigned seq, unsigned portid,
                       const std::function<Status(const nlmsghdr*)>& on_msg, NlReply* reply);

// Not thread-safe: one request at a time per socket; callers serialise.
class NetlinkSocket {
 public:
  ~NetlinkSocket();
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  // Opens and binds a socket on `bus` (NETLINK_ROUTE, NETLINK_GENERIC).
  static Result<std::unique_ptr<NetlinkSocket>> Open(int bus);

  // Sends `req` (its nlmsg_seq and nlmsg_pid are overwritten) and reads every
  // reply up to the final ACK / NLMSG_DONE, calling `on_msg` for each data
  // message. A kernel error is returned in NlReply::error (not as a failed
  // Result) so that callers can treat EEXIST / ENOENT as they need; the
  // Result fails only on socket errors or when `on_msg` fails.
  // REQUIRES: req has NLM_F_ACK or NLM_F_DUMP set, else this blocks forever.
  Result<NlReply> Transact(nlmsghdr* req,
                           const std::function<Status(const nlmsghdr*)>& on_msg = nullptr);

 private:
  explicit NetlinkSocket(mnl_socket* s);
  mnl_socket* sock_;
  unsigned portid_;
  unsigned seq_;
};

}  // namespace kilo::netlink
