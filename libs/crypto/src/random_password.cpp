#include "migrate/crypto/random_password.hpp"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <string_view>

#include "migrate/core/error.hpp"

namespace migrate::crypto {
namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
// The largest multiple of 62 below 256: bytes at or above it are drawn again, so that every
// character is equally likely (no modulo bias).
constexpr unsigned limit = 256 - 256 % alphabet.size();

}  // namespace

Secret generate_password(std::size_t length) {
  Secret password(length);
  Secret random(64);
  std::size_t filled = 0;
  while (filled < length) {
    if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
      ERR_clear_error();
      throw RunError("OpenSSL could not generate a random password");
    }
    for (std::size_t i = 0; i < random.size() && filled < length; ++i)
      if (random.data()[i] < limit)
        password.data()[filled++] = static_cast<unsigned char>(alphabet[random.data()[i] % alphabet.size()]);
  }
  return password;
}

}  // namespace migrate::crypto
