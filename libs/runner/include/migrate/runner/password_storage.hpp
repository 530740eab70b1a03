#pragma once
// Tenant passwords on their way into the tenants table: what every command that writes one
// (encrypt, provision, rotate-password, rotate-key) calls, so that all of them honour the
// knexfile's `encryption.format` and write under DB_ENCRYPTION_KEY.
#include <string>
#include <string_view>

#include "migrate/config/settings.hpp"
#include "migrate/crypto/key_ring.hpp"
#include "migrate/crypto/stored_password.hpp"

namespace migrate::runner {

// The cipher format `format` (the knexfile's plain setting) stands for.
crypto::Format storage_format(config::EncryptionFormat format);

// `plaintext` encrypted for db_password_encrypted: under `ring`'s current key (DB_ENCRYPTION_KEY)
// in the format `settings.encryption_format` names, with a fresh random IV. Throws RunError when
// OpenSSL fails.
std::string seal_for_storage(const config::Settings& settings, const crypto::KeyRing& ring, std::string_view plaintext);

// The same, with the ring read from DB_ENCRYPTION_KEY and DB_ENCRYPTION_KEY_PREVIOUS (InputError
// when they are unset or malformed, naming the variable, never the key).
std::string seal_for_storage(const config::Settings& settings, std::string_view plaintext);

}  // namespace migrate::runner
