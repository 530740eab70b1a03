#pragma once
// Tenant passwords as Node's crypto writes them: "<iv hex>:<ciphertext hex>", AES-256-CBC with a
// random 16-byte IV and PKCS#7 padding.
#include <stdexcept>
#include <string>
#include <string_view>

#include "migrate/core/error.hpp"
#include "migrate/crypto/secret.hpp"

namespace migrate::crypto {

// Why a stored password could not be decrypted. The message names the problem, never the bytes.
class DecryptError : public RunError {
 public:
  explicit DecryptError(const std::string& message) : RunError(message) {}
};

// The plaintext password of CBC value `stored` under the one key `key` (stored_password.hpp reads
// both formats under a key ring). A value of the wrong form (empty, no ':', an IV that is not
// 32 hex digits, a ciphertext that is not hex or not a whole number of 16-byte blocks) throws
// DecryptError saying what is wrong with it. Every failure after that (OpenSSL failing, bad
// padding, an empty plaintext, one that is not PasswordText::printable) throws DecryptError
// "wrong key or corrupted value", whatever the cause, so that the message is no padding oracle;
// garbage from a wrong key is never returned as a password. OpenSSL's error queue is left empty.
Secret decrypt_password(std::string_view stored, const Secret& key);

// What the text of a password is. Only printable ones decrypt (see decrypt_password).
enum class PasswordText { printable, control_character, invalid_utf8 };

// Whether `text` is valid UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF) without
// control characters (U+0000-U+001F, U+007F, U+0080-U+009F): what a real password looks like.
// When it is not, the first problem found from the start of `text`.
PasswordText classify_password_text(std::string_view text);

// `plaintext` encrypted under `key` with a fresh random IV, in the stored form.
std::string encrypt_password(std::string_view plaintext, const Secret& key);

}  // namespace migrate::crypto
