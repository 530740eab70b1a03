#include <cstdlib>

#include "migrate/config/knexfile.hpp"
#include "migrate/core/error.hpp"

namespace migrate::config {

std::string expand_environment(const std::string& text, const std::string& where) {
  std::string out;
  std::size_t at = 0;
  while (true) {
    const auto open = text.find("${", at);
    if (open == std::string::npos) break;
    const auto close = text.find('}', open);
    if (close == std::string::npos) throw InputError(where + ": unterminated ${ in value");
    const std::string name = text.substr(open + 2, close - open - 2);
    if (name.empty()) throw InputError(where + ": empty ${} in value");
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) throw InputError(where + ": environment variable " + name + " is not set");
    out.append(text, at, open - at);
    out += value;
    at = close + 1;
  }
  out.append(text, at);
  return out;
}

std::string choose_environment(const std::string& requested) {
  if (!requested.empty()) return requested;
  if (const char* from_env = std::getenv("MIGRATE_ENV"); from_env && *from_env) return from_env;
  return "development";
}

}  // namespace migrate::config
