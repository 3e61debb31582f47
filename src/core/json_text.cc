// JSON text: string escaping, and YAML converted to JSON.

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>

#include "core/objects_json.h"

namespace kilo {
namespace {

void EmitYaml(const YAML::Node& node, std::string* out);

// Emits a YAML scalar as JSON: plain scalars that look like numbers, booleans
// or null become those JSON types (YAML 1.1 core schema as kubectl reads it).
void EmitScalar(const YAML::Node& node, std::string* out) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") {  // quoted
    AppendJsonString(s, out);
    return;
  }
  if (s == "null" || s == "~" || s.empty()) {
    *out += "null";
    return;
  }
  if (s == "true" || s == "false") {
    *out += s;
    return;
  }
  char* end = nullptr;
  std::strtoll(s.c_str(), &end, 10);
  bool integer =
      end && *end == '\0' && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-');
  if (integer) {
    *out += s;
    return;
  }
  AppendJsonString(s, out);
}

void EmitYaml(const YAML::Node& node, std::string* out) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      *out += "null";
      return;
    case YAML::NodeType::Scalar:
      EmitScalar(node, out);
      return;
    case YAML::NodeType::Sequence: {
      out->push_back('[');
      bool first = true;
      for (const auto& child : node) {
        if (!first) out->push_back(',');
        first = false;
        EmitYaml(child, out);
      }
      out->push_back(']');
      return;
    }
    case YAML::NodeType::Map: {
      out->push_back('{');
      bool first = true;
      for (const auto& kv : node) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(kv.first.Scalar(), out);
        out->push_back(':');
        EmitYaml(kv.second, out);
      }
      out->push_back('}');
      return;
    }
  }
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out, bool html_safe) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20 || (html_safe && (c == '<' || c == '>' || c == '&'))) {
          *out += "\\u00";
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xf]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

Result<std::string> YamlToJson(std::string_view yaml) {
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    std::string out;
    out.reserve(yaml.size());
    EmitYaml(root, &out);
    return out;
  } catch (const YAML::Exception& e) {
    return Result<std::string>::Error(std::string("not valid YAML: ") + e.what());
  }
}

}  // namespace kilo
