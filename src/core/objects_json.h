#pragma once
// Decoding of Kubernetes JSON/YAML into the raw objects of objects.h. Uses
// simdjson so that a 100 MB `kubectl get nodes -o json` decodes in well under
// a second. Every Node and Peer, from a file here or from the API server
// (api_json.h), is read by one decoder, simdjson On-Demand (object_decode.h);
// simdjson's DOM parser only validates a whole document on the reference path
// (DecodeClusterObjects), for its "not valid JSON: ..." errors.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/objects.h"
#include "core/status.h"

namespace kilo {

// Decodes a kubectl `List` (or NodeList/PeerList, or a single Node/Peer) in
// JSON or YAML. Items of other kinds are counted in `skipped`. Errors name
// the problem ("not valid JSON or YAML: ...", "item 3: metadata.name missing").
Result<ClusterObjects> DecodeClusterObjects(std::string_view text);

// The padding DecodeClusterObjectsPadded needs after the text (simdjson's).
inline constexpr size_t kJsonPadding = 64;

// Same as DecodeClusterObjects, but when text.capacity() >= text.size() +
// kJsonPadding (reserve() it before reading) the JSON is parsed in place,
// without a copy: a 100 MB dump then needs 100 MB less memory.
Result<ClusterObjects> DecodeClusterObjectsPadded(const std::string& text);

// Receives the objects of a dump from VisitClusterDump.
class ClusterDumpVisitor {
 public:
  virtual ~ClusterDumpVisitor() = default;
  // A Node, as the fields translation reads; the views are valid during
  // the call only. Nodes come in input order.
  virtual void OnNode(const NodeFields& node) = 0;
  // A Peer; Peers come in input order (not necessarily interleaved with the
  // Nodes as in the input).
  virtual void OnPeer(PeerObject peer) = 0;
  // An item of another kind.
  virtual void OnSkipped() {}
  // How many items the List has (Nodes, Peers and others), when known before
  // the first: room can be reserved at once.
  virtual void OnItemCount(size_t) {}
  // The fast decoder will not read the input before `upto` again (it moves
  // forward only). A visitor may release that memory and return true; if the
  // fast decoder then gives up, Refill() must give the whole input back
  // (padded), or nullopt to fail.
  virtual bool OnConsumed(const char* /*upto*/) { return false; }
  virtual std::optional<std::string_view> Refill() { return std::nullopt; }
  // Forget everything received so far: the decoder starts over.
  virtual void Restart() = 0;
};

// Decodes like DecodeClusterObjects (same objects, same errors) but hands
// them to `visitor` without building ClusterObjects: a kubectl List is read
// with simdjson On-Demand straight from `text` (only the fields Kilo uses;
// no DOM, no per-Node maps or strings), which makes a 5,000-node dump several
// times faster to load in a fraction of the memory. `topology_label` is the
// label whose value NodeFields::topology_label carries. `padded`: `text` may
// be read kJsonPadding bytes past its end (otherwise it is copied once).
// Anything unusual (YAML, a single object instead of a List, an invalid
// item, a syntax error, ...) is decoded by DecodeClusterObjects, the
// reference (it validates the whole document first); the visitor is then
// Restart()ed first.
// Unlike DecodeClusterObjects, syntax errors inside values Kilo does not
// read (e.g. a Node's status) are not reported.
Status VisitClusterDump(std::string_view text, bool padded, const std::string& topology_label,
                        ClusterDumpVisitor* visitor);

// Decodes a kubectl List that arrives in pieces (a large dump file read block
// by block) in batches of whole items of about `batch_bytes`, so that neither
// the whole text nor simdjson's index of it (4 bytes per token) is ever held:
// a 100 MB dump with status and managedFields is decoded in a few MB instead
// of 1.2 times its size. The visitor gets the calls VisitClusterDump's fast
// decoder makes for the same text, except OnItemCount. When the input is
// anything else (not an object whose first "items" is an array, or anything
// the fast decoder hands to the reference: a syntax error, an invalid
// item, ...) the stream gives up: Commit() or Finish() returns false, and the
// caller Restart()s the visitor and decodes the whole input with
// VisitClusterDump, which gives the reference's objects and errors.
class ClusterDumpStream {
 public:
  ClusterDumpStream(std::string topology_label, ClusterDumpVisitor* visitor,
                    size_t batch_bytes = size_t{1} << 20);
  ~ClusterDumpStream();
  ClusterDumpStream(const ClusterDumpStream&) = delete;
  ClusterDumpStream& operator=(const ClusterDumpStream&) = delete;

  // Room for `n` more bytes of input: write them there, then Commit().
  char* Reserve(size_t n);
  // Takes the `n` bytes written; decodes the items completed so far once they
  // fill a batch. False once the stream has given up.
  bool Commit(size_t n);
  // End of the input: decodes the last batch and checks the List around the
  // items. False if the stream gave up.
  bool Finish();
  // The most input held at once, in bytes (for tests and diagnostics).
  size_t BufferCapacity() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Appends `s` as a JSON string: '"', '\\', \n, \r, \t and the other control
// characters escaped (\u00XX); with `html_safe` also <, > and &, as Go's
// encoding/json writes strings.
void AppendJsonString(std::string_view s, std::string* out, bool html_safe = false);

// Decodes one Node / Peer object given as JSON text.
Result<NodeObject> DecodeNodeObject(std::string_view json);
Result<PeerObject> DecodePeerObject(std::string_view json);

// Converts YAML text (one document) to JSON text. Errors carry the line.
Result<std::string> YamlToJson(std::string_view yaml);

}  // namespace kilo
