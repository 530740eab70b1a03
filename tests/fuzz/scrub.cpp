// libFuzzer: a password never survives pg::scrub.
// - Planted anywhere in a message, given as the secret: scrub(message, password).
// - With no secret given (as every error path calls it), in the two shapes scrub finds by itself:
//   a `password=` setting and a URL's `user:password@`. There the password's bytes are moved to
//   0x80-0xFF and the text's below, so that any of them left in the result can only be the password's.
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

  std::string high = password;
  for (auto& c : high) c = static_cast<char>(static_cast<unsigned char>(c) | 0x80);
  std::string low = text;
  for (auto& c : low) c = static_cast<char>(static_cast<unsigned char>(c) & 0x7f);
  const std::string before = low.substr(0, low.size() / 2);
  const std::string after = low.substr(low.size() / 2);
  for (const std::string& shaped :
       {before + " password=" + high + " " + after, before + " PASSWORD = " + high + "\n" + after,
        before + " postgresql://platform:" + high + "@db.internal/t " + after,
        before + " postgres://u:" + high + "@h " + after})
    if (migrate::pg::scrub(shaped).find(high) != std::string::npos) std::abort();
  return 0;
}
