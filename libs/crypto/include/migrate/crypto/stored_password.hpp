#pragma once
// Tenant passwords as stored, in either format, under a key ring:
//   cbc: "<iv hex>:<ciphertext hex>", AES-256-CBC (what Node code of existing fleets writes)
//   v2:  "v2:<key id>:<iv hex, 12 bytes>:<tag hex, 16 bytes>:<ciphertext hex>", AES-256-GCM, no
//        AAD, lowercase hex: authenticated, so a changed byte anywhere is refused.
#include <optional>
#include <string>
#include <string_view>

#include "migrate/crypto/key_ring.hpp"
#include "migrate/crypto/password_cipher.hpp"
#include "migrate/crypto/secret.hpp"

namespace migrate::crypto {

enum class Format { cbc, v2 };

// "cbc" or "v2".
std::string_view format_name(Format format);
// The format `name` spells ("cbc" or "v2"); nothing for anything else.
std::optional<Format> parse_format(std::string_view name);

// A decrypted password and how it was stored.
struct OpenedPassword {
  Secret password;
  Format format = Format::cbc;
  std::size_t key_index = 0;  // in KeyRing::keys(): 0 is DB_ENCRYPTION_KEY, 1.. the previous keys
};

// The plaintext of `stored` and how it was stored. A value starting "v2:" is decrypted with the
// key whose id it names: an unknown id throws DecryptError naming the id; a changed byte throws
// DecryptError "wrong key or corrupted value" (malformed parts are named, as for CBC). Anything
// else is read as CBC (see decrypt_password(stored, key) for its errors) and tried under the
// current key, then each previous key in order: the first that passes padding and the printable
// check wins. Every well-formed value no key decrypts gives one and the same reason.
OpenedPassword open_password(std::string_view stored, const KeyRing& ring);

// open_password(stored, ring).password.
Secret decrypt_password(std::string_view stored, const KeyRing& ring);

// `plaintext` encrypted under the ring's current key, in `format`, with a fresh random IV.
// Throws RunError when OpenSSL fails.
std::string seal_password(std::string_view plaintext, const KeyRing& ring, Format format);

// `plaintext` as v2 under `key`, whose id is `id`: what seal_password writes (for tests).
std::string encrypt_password_v2(std::string_view plaintext, const Secret& key, const std::string& id);

}  // namespace migrate::crypto
