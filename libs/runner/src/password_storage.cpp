#include "migrate/runner/password_storage.hpp"

namespace migrate::runner {

crypto::Format storage_format(config::EncryptionFormat format) {
  return format == config::EncryptionFormat::v2 ? crypto::Format::v2 : crypto::Format::cbc;
}

std::string seal_for_storage(const config::Settings& settings, const crypto::KeyRing& ring,
                             std::string_view plaintext) {
  return crypto::seal_password(plaintext, ring, storage_format(settings.encryption_format));
}

std::string seal_for_storage(const config::Settings& settings, std::string_view plaintext) {
  return seal_for_storage(settings, crypto::KeyRing::from_environment(), plaintext);
}

}  // namespace migrate::runner
