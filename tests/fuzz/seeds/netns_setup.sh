#!/usr/bin/env bash
# Populates network namespace $1 with links, addresses, routes (main, table
# 1107, onlink, IPv4 via IPv6, multipath, metrics) and rules shaped like a
# Kilo node's, for capture_netlink.py. Needs only veth and bridge.
set -euo pipefail
ns=$1
ipn() { ip -n "$ns" "$@"; }
ipn link set lo up
ipn link add eth0 type veth peer name eth0-peer
ipn link set eth0 mtu 1500 up
ipn link set eth0-peer up
ipn link add kube-bridge type bridge
ipn link set kube-bridge mtu 1420 up
ipn addr add 192.168.10.5/24 dev eth0
ipn addr add 203.0.113.7/32 dev eth0
ipn addr add fd00:1::5/64 dev eth0 nodad
ipn addr add 2001:db8::7/64 dev eth0 nodad
ipn addr add 10.4.0.1/24 dev kube-bridge
ipn route add default via 192.168.10.1 dev eth0
ipn -6 route add default via fd00:1::1 dev eth0 metric 100
ipn route add 10.5.0.0/24 via 192.168.10.9 dev eth0 proto static table 1107
ipn route add 10.6.0.0/24 via 192.168.10.9 dev eth0 onlink proto static
ipn route add 10.7.0.0/24 via inet6 fd00:1::9 dev eth0 proto static
ipn route add 10.8.0.0/24 src 192.168.10.5 dev eth0 metric 50 proto static
ipn route add 10.9.0.0/24 nexthop via 192.168.10.2 dev eth0 nexthop via 192.168.10.3 dev eth0
ipn -6 route add fd00:5::/64 via fd00:1::9 dev eth0 proto static table 1107
ipn rule add from 10.4.0.0/16 lookup 1107
ipn rule add to 10.5.0.0/16 iif kube-bridge lookup 1107 priority 100
ipn -6 rule add from fd00:2::/64 lookup 1107
