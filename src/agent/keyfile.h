#pragma once
// The node's WireGuard private key on disk: created with mode 0600 when
// missing, never logged. Only its public half ever leaves the process.

#include <string>

#include "core/key.h"
#include "core/status.h"

namespace kilo::agent {

// Loads the base64 private key at `path`, or creates it (and its directory,
// 0700) with a fresh key and mode 0600. An existing file with a broader mode
// is tightened to 0600. Errors name the path and never contain key material.
Result<Key> LoadOrCreateKey(const std::string& path);

}  // namespace kilo::agent
