#include "migrate/crypto/password_cipher.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <vector>

#include "migrate/crypto/hex.hpp"

namespace migrate::crypto {
namespace {

constexpr std::size_t iv_size = 16;
constexpr std::size_t block_size = 16;

struct CipherContextDeleter {
  void operator()(EVP_CIPHER_CTX* context) const { EVP_CIPHER_CTX_free(context); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextDeleter>;

CipherContext new_context() {
  CipherContext context(EVP_CIPHER_CTX_new());
  if (!context) throw std::runtime_error("OpenSSL could not allocate a cipher context");
  return context;
}

void require_key(const Secret& key) {
  if (key.size() != 32) throw DecryptError("the encryption key is not 32 bytes");
}

// True when `text` is valid UTF-8 without control characters: what a real password looks like.
bool is_printable_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    std::size_t length = 0;
    std::uint32_t code = 0;
    if ((c & 0xe0) == 0xc0)
      length = 2, code = c & 0x1f;
    else if ((c & 0xf0) == 0xe0)
      length = 3, code = c & 0x0f;
    else if ((c & 0xf8) == 0xf0)
      length = 4, code = c & 0x07;
    else
      return false;
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = code << 6 | (next & 0x3f);
    }
    const bool overlong =
        (length == 2 && code < 0x80) || (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
    if (overlong || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    if (code >= 0x80 && code < 0xa0) return false;  // C1 control characters
    i += length;
  }
  return true;
}

}  // namespace

Secret decrypt_password(std::string_view stored, const Secret& key) {
  require_key(key);
  if (stored.empty()) throw DecryptError("the encrypted password is empty");
  const auto colon = stored.find(':');
  if (colon == std::string_view::npos)
    throw DecryptError("the encrypted password has no ':' between IV and ciphertext");
  const auto iv = from_hex(stored.substr(0, colon));
  if (!iv) throw DecryptError("the IV is not hex (expected 32 hex digits before ':')");
  if (iv->size() != iv_size) throw DecryptError("the IV is " + std::to_string(iv->size()) + " bytes, expected 16");
  const auto ciphertext = from_hex(stored.substr(colon + 1));
  if (!ciphertext) throw DecryptError("the ciphertext is not hex or has an odd length");
  if (ciphertext->empty() || ciphertext->size() % block_size != 0)
    throw DecryptError("the ciphertext is " + std::to_string(ciphertext->size()) +
                       " bytes, not a whole number of 16-byte blocks");

  auto context = new_context();
  Secret plaintext(ciphertext->size() + block_size);
  int written = 0;
  int final_written = 0;
  const auto size = static_cast<int>(ciphertext->size());
  if (EVP_DecryptInit_ex(context.get(), EVP_aes_256_cbc(), nullptr, key.data(), iv->data()) != 1 ||
      EVP_DecryptUpdate(context.get(), plaintext.data(), &written, ciphertext->data(), size) != 1)
    throw DecryptError("OpenSSL could not decrypt the password");
  if (EVP_DecryptFinal_ex(context.get(), plaintext.data() + written, &final_written) != 1)
    throw DecryptError(
        "bad padding after decryption: DB_ENCRYPTION_KEY is probably not the key "
        "this password was encrypted under");
  plaintext.shrink(static_cast<std::size_t>(written + final_written));
  if (plaintext.empty()) throw DecryptError("the decrypted password is empty");
  if (!is_printable_utf8(plaintext.view()))
    throw DecryptError(
        "the decrypted password is not printable UTF-8: DB_ENCRYPTION_KEY is "
        "probably not the key this password was encrypted under");
  return plaintext;
}

std::string encrypt_password(std::string_view plaintext, const Secret& key) {
  require_key(key);
  unsigned char iv[iv_size];
  if (RAND_bytes(iv, sizeof iv) != 1) throw std::runtime_error("OpenSSL could not make a random IV");
  auto context = new_context();
  std::vector<unsigned char> ciphertext(plaintext.size() + block_size);
  int written = 0;
  int final_written = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(plaintext.data());
  if (EVP_EncryptInit_ex(context.get(), EVP_aes_256_cbc(), nullptr, key.data(), iv) != 1 ||
      EVP_EncryptUpdate(context.get(), ciphertext.data(), &written, in, static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(context.get(), ciphertext.data() + written, &final_written) != 1)
    throw std::runtime_error("OpenSSL could not encrypt the password");
  ciphertext.resize(static_cast<std::size_t>(written + final_written));
  return to_hex(iv, sizeof iv) + ":" + to_hex(ciphertext.data(), ciphertext.size());
}

}  // namespace migrate::crypto
