#include "migrate/crypto/key.hpp"

#include <cstdlib>
#include <string>

#include "migrate/core/error.hpp"
#include "migrate/crypto/hex.hpp"

namespace migrate::crypto {

Secret parse_key(std::string_view text) {
  return parse_key(text, key_variable);
}

Secret parse_key(std::string_view text, std::string_view name, std::string_view hint) {
  const std::string forms = "32 characters (used as raw bytes) or 64 hex digits (32 bytes)";
  if (text.size() == 32) return Secret::copy_of(text);
  if (text.size() == 64) {
    // Decoded straight into the Secret: no other copy of the key bytes, and the Secret wipes them
    // with OPENSSL_cleanse on every path, including a non-hex digit found halfway.
    Secret key(32);
    if (decode_hex(text, key.data())) return key;
    throw InputError(std::string(name) + " has 64 characters but they are not all hex digits; it must be " + forms +
                     std::string(hint));
  }
  throw InputError(std::string(name) + " must be " + forms + "; it has " + std::to_string(text.size()) + " characters" +
                   std::string(hint));
}

Secret key_from_environment() {
  const char* value = std::getenv(std::string(key_variable).c_str());
  if (value == nullptr || *value == '\0')
    throw InputError(std::string(key_variable) +
                     " is not set: export the key tenant passwords are encrypted under "
                     "(32 characters or 64 hex digits)");
  return parse_key(value);
}

}  // namespace migrate::crypto
