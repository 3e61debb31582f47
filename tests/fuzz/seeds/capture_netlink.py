#!/usr/bin/env python3
"""Dumps links, addresses, routes and rules of the current network namespace
as the kernel sends them (the raw datagrams of one NETLINK_ROUTE dump each),
and a few kernel NLMSG_ERROR replies. Run inside a scratch namespace set up by
tests/fuzz/seeds/make_seeds.sh; writes OUT_DIR/<name> files.

Usage: capture_netlink.py OUT_DIR
"""
import os
import socket
import struct
import sys

NETLINK_ROUTE = 0
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_GETLINK, RTM_GETADDR, RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE, RTM_GETRULE = 18, 22, 24, 25, 26, 34
RTM_DELADDR = 21


def request(s, seq, typ, flags, payload):
    hdr = struct.pack("=IHHII", 16 + len(payload), typ, flags, seq, 0)
    s.send(hdr + payload)


def collect(s, seq):
    """Reads datagrams until NLMSG_DONE / NLMSG_ERROR of `seq`."""
    out = b""
    while True:
        data = s.recv(65536)
        out += data
        off = 0
        while off + 16 <= len(data):
            ln, typ, _, sq, _ = struct.unpack_from("=IHHII", data, off)
            if sq == seq and typ in (NLMSG_DONE, NLMSG_ERROR):
                return out
            if ln < 16:
                return out
            off += (ln + 3) & ~3


def main():
    out_dir = sys.argv[1]
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    s.bind((0, 0))
    seq = 1000
    dumps = {
        "links": (RTM_GETLINK, struct.pack("=BxHiII", 0, 0, 0, 0, 0)),  # ifinfomsg
        "addrs": (RTM_GETADDR, struct.pack("=BBBBI", 0, 0, 0, 0, 0)),  # ifaddrmsg
        "routes": (RTM_GETROUTE, struct.pack("=BBBBBBBBI", 0, 0, 0, 0, 0, 0, 0, 0, 0)),  # rtmsg
        "rules": (RTM_GETRULE, struct.pack("=BBBBBBBBI", 0, 0, 0, 0, 0, 0, 0, 0, 0)),  # fib_rule_hdr
    }
    all_bytes = b""
    for name, (typ, payload) in dumps.items():
        seq += 1
        request(s, seq, typ, NLM_F_REQUEST | NLM_F_DUMP, payload)
        data = collect(s, seq)
        with open(os.path.join(out_dir, "dump-" + name), "wb") as f:
            f.write(data)
        all_bytes += data
    # Kernel errors: deleting a route and an address that do not exist
    # (ESRCH / EADDRNOTAVAIL), each an NLMSG_ERROR echoing the request.
    seq += 1
    rtm = struct.pack("=BBBBBBBBI", socket.AF_INET, 32, 0, 0, 254, 0, 0, 1, 0)
    dst = struct.pack("=HH", 8, 1) + socket.inet_aton("192.0.2.77")
    request(s, seq, RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, rtm + dst)
    with open(os.path.join(out_dir, "error-delroute-esrch"), "wb") as f:
        f.write(collect(s, seq))
    seq += 1
    ifa = struct.pack("=BBBBI", socket.AF_INET, 24, 0, 0, 1)
    local = struct.pack("=HH", 8, 2) + socket.inet_aton("198.51.100.9")
    request(s, seq, RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, ifa + local)
    with open(os.path.join(out_dir, "error-deladdr"), "wb") as f:
        f.write(collect(s, seq))
    s.close()


if __name__ == "__main__":
    main()
