#pragma once
// Tenant passwords as Node's crypto writes them: "<iv hex>:<ciphertext hex>", AES-256-CBC with a
// random 16-byte IV and PKCS#7 padding.
#include <stdexcept>
#include <string>
#include <string_view>

#include "migrate/crypto/secret.hpp"

namespace migrate::crypto {

// Why a stored password could not be decrypted. The message names the problem, never the bytes.
class DecryptError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The plaintext password of `stored`. Throws DecryptError for an empty value, a missing ':', an
// IV that is not 16 bytes, odd-length or non-hex text, bad padding (most often a wrong key), or a
// plaintext that is not valid UTF-8 or holds control characters (a wrong key that happened to
// pass the padding check), so that garbage is never tried as a password.
Secret decrypt_password(std::string_view stored, const Secret& key);

// `plaintext` encrypted under `key` with a fresh random IV, in the stored form.
std::string encrypt_password(std::string_view plaintext, const Secret& key);

}  // namespace migrate::crypto
