// libFuzzer: a password planted in a message never survives pg::scrub(message, password).
// Input: one byte n, then a password of n bytes (at least 1), then the text the password is
// planted into, split at its middle.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "migrate/pg/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t length = std::min<std::size_t>(1 + data[0] % 64, size - 1);
  const std::string password(reinterpret_cast<const char*>(data + 1), length);
  const std::string text(reinterpret_cast<const char*>(data + 1 + length), size - 1 - length);
  const std::string message = text.substr(0, text.size() / 2) + password + text.substr(text.size() / 2);
  if (migrate::pg::scrub(message, password).find(password) != std::string::npos) std::abort();
  return 0;
}
