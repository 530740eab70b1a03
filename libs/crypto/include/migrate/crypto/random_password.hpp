#pragma once
// Passwords migrate makes for tenant roles (provision, rotate-password).
#include <cstddef>

#include "migrate/crypto/secret.hpp"

namespace migrate::crypto {

// `length` characters drawn uniformly from A-Z a-z 0-9 with OpenSSL's CSPRNG: 40 of them carry
// about 238 bits. Letters and digits only, so the password survives any URL, shell or .pgpass line
// an operator may put it in. Throws RunError when the generator fails.
Secret generate_password(std::size_t length = 40);

}  // namespace migrate::crypto
