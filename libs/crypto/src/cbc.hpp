#pragma once
// AES-256-CBC in Node's "<iv hex>:<ciphertext hex>" form, in two steps so that a key ring can try
// several keys on one parsed value. Private to libs/crypto.
#include <optional>
#include <string_view>
#include <vector>

#include "migrate/crypto/secret.hpp"

namespace migrate::crypto::detail {

struct CbcValue {
  std::vector<unsigned char> iv;
  std::vector<unsigned char> ciphertext;
};

// The parts of `stored`. Throws DecryptError naming what is wrong with its form (see
// decrypt_password); nothing here depends on a key.
CbcValue parse_cbc(std::string_view stored);

// The plaintext of `value` under `key` when it passes the padding and printable checks; nothing
// otherwise, whatever the cause (OpenSSL's error queue left empty).
std::optional<Secret> try_cbc(const CbcValue& value, const Secret& key);

// Throws DecryptError "wrong key or corrupted value": the one reason for every value of the right
// form that does not decrypt, so that the message is no padding or tag oracle.
[[noreturn]] void fail_undecryptable(const std::string& detail = {});

}  // namespace migrate::crypto::detail
