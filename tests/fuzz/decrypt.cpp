// libFuzzer: decrypt_password under a fixed key never crashes, and either throws DecryptError or
// returns printable text. The first byte chooses the input's use: even, the rest is a stored value
// as it is; odd, the rest is a plaintext, encrypted here (fixed IV) and decrypted, which must give
// back exactly that plaintext when it is printable and DecryptError otherwise. A stored value is
// also read through a key ring (open_password), which takes v2 values ("v2:...") too.
#include <openssl/evp.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "migrate/crypto/hex.hpp"
#include "migrate/crypto/key.hpp"
#include "migrate/crypto/key_ring.hpp"
#include "migrate/crypto/password_cipher.hpp"
#include "migrate/crypto/stored_password.hpp"

using namespace migrate::crypto;

namespace {

const Secret& fixed_key() {
  static const Secret key = parse_key("fuzz-key-0123456789abcdef-32char");
  return key;
}

const KeyRing& fixed_ring() {
  static const KeyRing ring(parse_key("fuzz-key-0123456789abcdef-32char"));
  return ring;
}

// `plaintext` in the stored form under fixed_key(), with a fixed IV so that a run is repeatable.
std::string encrypt_with_fixed_iv(std::string_view plaintext) {
  static const unsigned char iv[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  EVP_CIPHER_CTX* context = EVP_CIPHER_CTX_new();
  std::vector<unsigned char> out(plaintext.size() + 16);
  int written = 0;
  int final_written = 0;
  if (!context || EVP_EncryptInit_ex(context, EVP_aes_256_cbc(), nullptr, fixed_key().data(), iv) != 1 ||
      EVP_EncryptUpdate(context, out.data(), &written, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(context, out.data() + written, &final_written) != 1)
    std::abort();
  EVP_CIPHER_CTX_free(context);
  return to_hex(iv, sizeof iv) + ":" + to_hex(out.data(), static_cast<std::size_t>(written + final_written));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool round_trip = data[0] % 2 == 1;
  const std::string stored = round_trip ? encrypt_with_fixed_iv(rest) : std::string(rest);
  try {
    const Secret password = decrypt_password(stored, fixed_key());
    if (password.empty() || classify_password_text(password.view()) != PasswordText::printable) std::abort();
    if (round_trip && password.view() != rest) std::abort();
  } catch (const DecryptError&) {
    if (round_trip && !rest.empty() && classify_password_text(rest) == PasswordText::printable) std::abort();
  }
  if (!round_trip) {
    try {
      const auto opened = open_password(stored, fixed_ring());
      if (opened.password.empty() || classify_password_text(opened.password.view()) != PasswordText::printable)
        std::abort();
    } catch (const DecryptError&) {
    }
  }
  return 0;
}
