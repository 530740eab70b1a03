#include "yaml_file.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "migrate/core/error.hpp"

namespace migrate::config {
namespace {

// Offset just past the quoted scalar that opens at `open`, or npos when its closing quote is missing.
// Inside double quotes a backslash escapes the next character; inside single quotes '' is a quote.
std::size_t end_of_quoted(const std::string& text, std::size_t open) {
  const char quote = text[open];
  for (std::size_t at = open + 1; at < text.size(); ++at) {
    if (quote == '"' && text[at] == '\\') {
      ++at;
    } else if (text[at] == quote) {
      if (quote == '\'' && at + 1 < text.size() && text[at + 1] == '\'') {
        ++at;
      } else {
        return at + 1;
      }
    }
  }
  return std::string::npos;
}

// Where a scalar node that starts at `at` has its first character, past its tag and anchor (`!!str`,
// `&name`), the spaces and line breaks after them, and comments between them.
std::size_t skip_properties(const std::string& text, std::size_t at) {
  while (at < text.size()) {
    const char c = text[at];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++at;
    } else if (c == '#' && at > 0 && (text[at - 1] == ' ' || text[at - 1] == '\t')) {
      at = text.find('\n', at);
      if (at == std::string::npos) return text.size();
    } else if (c == '!' || c == '&') {
      while (at < text.size() && text[at] != ' ' && text[at] != '\t' && text[at] != '\r' && text[at] != '\n') ++at;
    } else {
      break;
    }
  }
  return at;
}

// Throws for the first quoted scalar in `node` (a tree yaml-cpp built from `text`) that is not closed.
class QuoteCheck {
 public:
  QuoteCheck(const std::string& file, const std::string& text) : file_(file), text_(text) {}

  void check(const YAML::Node& node) {
    if (node.IsScalar()) return check_scalar(node);
    if (!node.IsMap() && !node.IsSequence()) return;
    // An alias shares its node, and `&a [*a]` makes a cycle: look at each collection once.
    if (!seen_.insert(node.Mark().pos).second) return;
    for (const auto& entry : node) {
      if (node.IsMap()) {
        check(entry.first);
        check(entry.second);
      } else {
        check(entry);
      }
    }
  }

 private:
  void check_scalar(const YAML::Node& node) {
    const int pos = node.Mark().pos;
    if (pos < 0 || static_cast<std::size_t>(pos) >= text_.size()) return;
    const std::size_t open = skip_properties(text_, static_cast<std::size_t>(pos));
    if (open >= text_.size() || (text_[open] != '"' && text_[open] != '\'')) return;
    if (end_of_quoted(text_, open) != std::string::npos) return;
    const auto line = 1 + std::count(text_.begin(), text_.begin() + static_cast<std::ptrdiff_t>(open), '\n');
    throw InputError(file_ + ":" + std::to_string(line) + ": malformed YAML: a " +
                     (text_[open] == '"' ? "double" : "single") + "-quoted value is not closed");
  }

  const std::string& file_;
  const std::string& text_;
  std::set<int> seen_;
};

}  // namespace

YAML::Node load_yaml_file(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open() || std::filesystem::is_directory(path)) throw InputError(file + ": cannot be read");
  std::ostringstream read;
  read << in.rdbuf();
  std::string text = read.str();
  // yaml-cpp's marks count from after a UTF-8 byte order mark.
  if (text.rfind("\xef\xbb\xbf", 0) == 0) text.erase(0, 3);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& error) {
    throw InputError(file + ":" + std::to_string(error.mark.line + 1) + ": malformed YAML: " + error.msg);
  }
  QuoteCheck(file, text).check(root);
  return root;
}

}  // namespace migrate::config
