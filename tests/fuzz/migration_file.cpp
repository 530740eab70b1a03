// libFuzzer: parse_migration on any text. It returns a file or throws InputError, nothing else;
// a parsed file has a non-empty up section whose directive line lies in the text.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "migrate/core/error.hpp"
#include "migrate/migrations/migration_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto file = migrate::migrations::parse_migration("20250101000000_fuzz.sql", text);
    if (file.up.sql.empty() || file.up.first_line < 1) std::abort();
    if (file.down && file.down->sql.empty()) std::abort();
  } catch (const migrate::InputError&) {
  }
  return 0;
}
