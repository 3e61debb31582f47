#!/usr/bin/env python3
"""Encodes a wireguard-go get=1 reply as the Linux kernel's WG_CMD_GET_DEVICE
dump reply (generic netlink, NLM_F_MULTI messages + NLMSG_DONE), attribute by
attribute as drivers/net/wireguard/netlink.c does. With --split, the first
peer's allowed IPs are continued in a second message (the kernel's split of a
large peer). Usage: genl_from_uapi.py UAPI_REPLY OUT [--split]
"""
import socket
import struct
import sys

FAMILY, SEQ, PID = 0x1D, 4242, 31337
NLA_F_NESTED = 0x8000


def attr(t, payload):
    a = struct.pack("=HH", 4 + len(payload), t) + payload
    return a + b"\0" * ((4 - len(a) % 4) % 4)


def nest(t, parts):
    return attr(t | NLA_F_NESTED, b"".join(parts))


def msg(attrs, flags=0x2):  # NLM_F_MULTI
    payload = struct.pack("=BBH", 0, 1, 0) + b"".join(attrs)  # genlmsghdr: cmd GET_DEVICE, v1
    return struct.pack("=IHHII", 16 + len(payload), FAMILY, flags, SEQ, PID) + payload


def sockaddr(ep):
    host, port = ep.rsplit(":", 1)
    if host.startswith("["):  # sockaddr_in6: family, port, flowinfo, addr, scope id
        return struct.pack("=H", socket.AF_INET6) + struct.pack(
            "!HI16sI", int(port), 0, socket.inet_pton(socket.AF_INET6, host[1:-1]), 0)
    return struct.pack("=H", socket.AF_INET) + struct.pack("!H4s8x", int(port), socket.inet_aton(host))


def aip(cidr):
    ip, bits = cidr.split("/")
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    return nest(0, [attr(1, struct.pack("=H", fam)), attr(2, socket.inet_pton(fam, ip)),
                    attr(3, struct.pack("=B", int(bits)))])


def main():
    text = open(sys.argv[1]).read()
    split = "--split" in sys.argv
    dev, peers = {}, []
    for line in text.splitlines():
        if not line or "=" not in line:
            continue
        k, v = line.split("=", 1)
        if k == "public_key":
            peers.append({"public_key": v, "allowed": []})
        elif peers:
            if k == "allowed_ip":
                peers[-1]["allowed"].append(v)
            else:
                peers[-1][k] = v
        else:
            dev[k] = v
    head = [attr(1, struct.pack("=I", 7)), attr(2, b"kilo0\0")]
    if "private_key" in dev:
        head.append(attr(3, bytes.fromhex(dev["private_key"])))
    head.append(attr(6, struct.pack("=H", int(dev.get("listen_port", 0)))))
    head.append(attr(7, struct.pack("=I", int(dev.get("fwmark", 0)))))

    def peer_attrs(p, allowed, first=True):
        a = [attr(1, bytes.fromhex(p["public_key"]))]
        if first:
            a.append(attr(2, bytes.fromhex(p.get("preshared_key", "0" * 64))))
            a.append(attr(6, struct.pack("=qq", int(p.get("last_handshake_time_sec", 0)),
                                         int(p.get("last_handshake_time_nsec", 0)))))
            a.append(attr(5, struct.pack("=H", int(p.get("persistent_keepalive_interval", 0)))))
            a.append(attr(8, struct.pack("=Q", int(p.get("tx_bytes", 0)))))
            a.append(attr(7, struct.pack("=Q", int(p.get("rx_bytes", 0)))))
            a.append(attr(10, struct.pack("=I", 1)))
            if "endpoint" in p:
                a.append(attr(4, sockaddr(p["endpoint"])))
        if allowed:
            a.append(nest(9, [aip(c) for c in allowed]))
        return nest(0, a)

    out = b""
    if split and peers and len(peers[0]["allowed"]) > 1:
        p0 = peers[0]
        out += msg(head + [nest(8, [peer_attrs(p0, p0["allowed"][:1])])])
        rest = [peer_attrs(p0, p0["allowed"][1:], first=False)]
        rest += [peer_attrs(p, p["allowed"]) for p in peers[1:]]
        out += msg([attr(1, struct.pack("=I", 7)), attr(2, b"kilo0\0"), nest(8, rest)])
    else:
        body = head + ([nest(8, [peer_attrs(p, p["allowed"]) for p in peers])] if peers else [])
        out += msg(body)
    out += struct.pack("=IHHIIi", 20, 3, 0x2, SEQ, PID, 0)  # NLMSG_DONE
    open(sys.argv[2], "wb").write(out)


if __name__ == "__main__":
    main()
