#pragma once
// DB_ENCRYPTION_KEY: the AES-256 key tenant passwords are encrypted under.
#include <string_view>

#include "migrate/crypto/secret.hpp"

namespace migrate::crypto {

inline constexpr std::string_view key_variable = "DB_ENCRYPTION_KEY";

// The 32-byte key `text` stands for: 32 characters are used as their raw bytes (what Node does
// with such a string), 64 hex digits are decoded. Anything else throws InputError naming
// DB_ENCRYPTION_KEY and the forms it takes; the message never holds the key.
Secret parse_key(std::string_view text);

// parse_key() for a key from elsewhere: errors name it `name` (such as "DB_ENCRYPTION_KEY_PREVIOUS
// key 2 of 3") and end with `hint`; they never hold the key.
Secret parse_key(std::string_view text, std::string_view name, std::string_view hint = {});

// parse_key() of the DB_ENCRYPTION_KEY environment variable; InputError when it is unset.
Secret key_from_environment();

}  // namespace migrate::crypto
