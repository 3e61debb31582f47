#include "netlink/socket.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <algorithm>
#include <climits>
#include <vector>

namespace kilo::netlink {

namespace {

constexpr int kRecvTimeoutSeconds = 10;

// The errno a netlink error/DONE message carries (the kernel sends -errno; 0
// is success). Anything else is a malformed reply, reported as EPROTO, never
// negated past INT_MIN.
int ErrnoOf(int v) {
  if (v == 0) return 0;
  if (v < 0 && v >= -4095) return -v;
  return EPROTO;
}

}  // namespace

NetlinkSocket::NetlinkSocket(mnl_socket* s)
    : sock_(s), portid_(mnl_socket_get_portid(s)), seq_(static_cast<unsigned>(time(nullptr))) {}

NetlinkSocket::~NetlinkSocket() { mnl_socket_close(sock_); }

Result<std::unique_ptr<NetlinkSocket>> NetlinkSocket::Open(int bus) {
  mnl_socket* s = mnl_socket_open2(bus, SOCK_CLOEXEC);
  if (!s) return Status::Error(std::string("open netlink socket: ") + strerror(errno));
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    mnl_socket_close(s);
    return Status::Error(std::string("bind netlink socket: ") + strerror(e));
  }
  // Ask for extended ACKs so that error messages could carry the kernel's text;
  // harmless when unsupported.
  int one = 1;
  mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &one, sizeof(one));
  // The kernel answers at once; a reply that never comes (a dropped
  // datagram under memory pressure) must fail the call, not stall the agent.
  timeval tv{};
  tv.tv_sec = kRecvTimeoutSeconds;
  setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return std::unique_ptr<NetlinkSocket>(new NetlinkSocket(s));
}

Result<bool> ScanReply(const void* buf, size_t len, unsigned seq, unsigned portid,
                       const std::function<Status(const nlmsghdr*)>& on_msg, NlReply* reply) {
  int left = static_cast<int>(std::min<size_t>(len, INT_MAX));
  // mnl_nlmsg_ok compares nlmsg_len as a signed int: a length of 2 GiB or
  // more passes it (and NLMSG_ALIGN then wraps to 0, repeating the same
  // message forever), so check the length unsigned too.
  for (auto* nlh = static_cast<const nlmsghdr*>(buf);
       mnl_nlmsg_ok(nlh, left) && nlh->nlmsg_len <= static_cast<unsigned>(left);
       nlh = mnl_nlmsg_next(nlh, &left)) {
    if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid) continue;  // stale reply
    /* Netlink returns NLM_F_DUMP_INTR if the set of objects changed during the
     * dump; the data is then possibly inconsistent and the caller should retry. */
    if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) reply->dump_interrupted = true;
    if (nlh->nlmsg_type == NLMSG_ERROR) {
      // The errno is the first field of struct nlmsgerr; never read it past
      // the end of a truncated message.
      if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(int))
        return Status::Error("truncated netlink error message");
      auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      reply->error = ErrnoOf(e->error);  // 0 is the ACK
      return true;
    }
    if (nlh->nlmsg_type == NLMSG_DONE) {
      // A dump that failed part-way reports the error in the DONE payload.
      if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
        int err = *static_cast<const int*>(mnl_nlmsg_get_payload(nlh));
        if (err < 0) reply->error = ErrnoOf(err);
      }
      return true;
    }
    if (nlh->nlmsg_type == NLMSG_NOOP || nlh->nlmsg_type == NLMSG_OVERRUN) continue;
    if (on_msg) {
      Status s = on_msg(nlh);
      if (!s.ok()) return s;
    }
  }
  return false;
}

Result<NlReply> NetlinkSocket::Transact(nlmsghdr* req,
                                        const std::function<Status(const nlmsghdr*)>& on_msg) {
  const unsigned seq = ++seq_;
  req->nlmsg_seq = seq;
  req->nlmsg_pid = 0;
  if (mnl_socket_sendto(sock_, req, req->nlmsg_len) < 0)
    return Status::Error(std::string("netlink send: ") + strerror(errno));
  NlReply reply;
  // Large dumps come in many datagrams of up to a page (or 8 KiB) each; a
  // 32 KiB buffer is what iproute2 uses to avoid MSG_TRUNC.
  std::vector<char> buf(32768);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock_, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return Status::Error("netlink recv: no reply from the kernel in " +
                             std::to_string(kRecvTimeoutSeconds) + " s");
      return Status::Error(std::string("netlink recv: ") + strerror(errno));
    }
    auto done = ScanReply(buf.data(), static_cast<size_t>(n), seq, portid_, on_msg, &reply);
    if (!done.ok()) return done.status();
    if (*done) return reply;
  }
}

}  // namespace kilo::netlink
