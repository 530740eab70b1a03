// libFuzzer: split_statements on any text. Each statement is a piece of the text, in order, that
// starts with code on the line it names; the pieces never overlap.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "migrate/migrations/statement_split.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view sql(reinterpret_cast<const char*>(data), size);
  std::size_t from = 0;
  for (const auto& statement : migrate::migrations::split_statements(sql)) {
    // The text is taken from the input as it stands (the ';' included), never made up.
    // (The same text may come earlier, in a comment: the first copy on the line it names is it.)
    if (statement.text.empty()) std::abort();
    auto at = sql.find(statement.text, from);
    while (at != std::string_view::npos &&
           statement.line != 1 + std::count(sql.begin(), sql.begin() + static_cast<std::ptrdiff_t>(at), '\n'))
      at = sql.find(statement.text, at + 1);
    if (at == std::string_view::npos) std::abort();
    from = at + statement.text.size();
  }
  return 0;
}
