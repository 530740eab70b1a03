#include "migrate/pg/quote.hpp"

namespace migrate::pg {

std::string quote_identifier(std::string_view name) {
  std::string quoted = "\"";
  for (const char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string quote_qualified(std::string_view name) {
  const auto dot = name.find('.');
  if (dot == std::string_view::npos) return quote_identifier(name);
  return quote_identifier(name.substr(0, dot)) + "." + quote_identifier(name.substr(dot + 1));
}

}  // namespace migrate::pg
