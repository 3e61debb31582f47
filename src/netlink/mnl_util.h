#pragma once
// C++-safe versions of libmnl's attribute iteration macros (the originals
// assign void* to the iterator, which C++ rejects).

#include <libmnl/libmnl.h>

#define KILO_ATTR_FOR_EACH(attr, nlh, offset)                                              \
  for ((attr) = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset((nlh), (offset))); \
       mnl_attr_ok((attr), reinterpret_cast<const char*>(nlh) + (nlh)->nlmsg_len -         \
                               reinterpret_cast<const char*>(attr));                       \
       (attr) = mnl_attr_next(attr))

#define KILO_ATTR_FOR_EACH_NESTED(attr, nest)                                                 \
  for ((attr) = static_cast<const nlattr*>(mnl_attr_get_payload(nest)); mnl_attr_ok(          \
           (attr), static_cast<const char*>(mnl_attr_get_payload(nest)) +                     \
                       mnl_attr_get_payload_len(nest) - reinterpret_cast<const char*>(attr)); \
       (attr) = mnl_attr_next(attr))
