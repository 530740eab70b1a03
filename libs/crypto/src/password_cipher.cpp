#include "migrate/crypto/password_cipher.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <optional>
#include <vector>

#include "cbc.hpp"
#include "migrate/core/error.hpp"
#include "migrate/crypto/hex.hpp"

namespace migrate::crypto {
namespace {

constexpr std::size_t iv_size = 16;
constexpr std::size_t block_size = 16;

struct CipherContextDeleter {
  void operator()(EVP_CIPHER_CTX* context) const { EVP_CIPHER_CTX_free(context); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextDeleter>;

// Throws RunError `message` with OpenSSL's error queue cleared, so that nothing stale
// from this failure turns up in a later error.
[[noreturn]] void fail(const char* message) {
  ERR_clear_error();
  throw RunError(message);
}

CipherContext new_context() {
  CipherContext context(EVP_CIPHER_CTX_new());
  if (!context) fail("OpenSSL could not allocate a cipher context");
  return context;
}

void require_key(const Secret& key) {
  if (key.size() != 32) throw DecryptError("the encryption key is not 32 bytes");
}

}  // namespace

PasswordText classify_password_text(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return PasswordText::control_character;
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
      return PasswordText::invalid_utf8;
    if (i + length > text.size()) return PasswordText::invalid_utf8;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return PasswordText::invalid_utf8;
      code = code << 6 | (next & 0x3f);
    }
    const bool overlong =
        (length == 2 && code < 0x80) || (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
    if (overlong || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return PasswordText::invalid_utf8;
    if (code >= 0x80 && code < 0xa0) return PasswordText::control_character;  // C1 control characters
    i += length;
  }
  return PasswordText::printable;
}

namespace detail {

// The one reason for every value of the right form that does not decrypt: bad padding, an empty
// plaintext or one that is not printable UTF-8 all look alike. Telling them apart would show
// anyone who can write a tenant row and read the output which forged values pass the padding
// check (a padding oracle), and that is enough to decrypt a stored password without the key.
void fail_undecryptable(const std::string& detail) {
  ERR_clear_error();
  throw DecryptError("wrong key or corrupted value" + detail);
}

CbcValue parse_cbc(std::string_view stored) {
  // The value's form: checked before any decryption, so these reasons say nothing about the key.
  if (stored.empty()) throw DecryptError("the encrypted password is empty");
  const auto colon = stored.find(':');
  if (colon == std::string_view::npos)
    throw DecryptError("the encrypted password has no ':' between IV and ciphertext");
  auto iv = from_hex(stored.substr(0, colon));
  if (!iv) throw DecryptError("the IV is not hex (expected 32 hex digits before ':')");
  if (iv->size() != iv_size) throw DecryptError("the IV is " + std::to_string(iv->size()) + " bytes, expected 16");
  auto ciphertext = from_hex(stored.substr(colon + 1));
  if (!ciphertext) throw DecryptError("the ciphertext is not hex or has an odd length");
  if (ciphertext->empty() || ciphertext->size() % block_size != 0)
    throw DecryptError("the ciphertext is " + std::to_string(ciphertext->size()) +
                       " bytes, not a whole number of 16-byte blocks");
  return {std::move(*iv), std::move(*ciphertext)};
}

std::optional<Secret> try_cbc(const CbcValue& value, const Secret& key) {
  require_key(key);
  // `plaintext` wipes itself on every path.
  auto context = new_context();
  Secret plaintext(value.ciphertext.size() + block_size);
  int written = 0;
  int final_written = 0;
  const auto size = static_cast<int>(value.ciphertext.size());
  if (EVP_DecryptInit_ex(context.get(), EVP_aes_256_cbc(), nullptr, key.data(), value.iv.data()) != 1 ||
      EVP_DecryptUpdate(context.get(), plaintext.data(), &written, value.ciphertext.data(), size) != 1 ||
      EVP_DecryptFinal_ex(context.get(), plaintext.data() + written, &final_written) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  plaintext.shrink(static_cast<std::size_t>(written + final_written));
  if (plaintext.empty() || classify_password_text(plaintext.view()) != PasswordText::printable) return std::nullopt;
  return plaintext;
}

}  // namespace detail

Secret decrypt_password(std::string_view stored, const Secret& key) {
  require_key(key);
  auto plaintext = detail::try_cbc(detail::parse_cbc(stored), key);
  if (!plaintext) detail::fail_undecryptable();
  return std::move(*plaintext);
}

std::string encrypt_password(std::string_view plaintext, const Secret& key) {
  require_key(key);
  unsigned char iv[iv_size];
  if (RAND_bytes(iv, sizeof iv) != 1) fail("OpenSSL could not make a random IV");
  auto context = new_context();
  std::vector<unsigned char> ciphertext(plaintext.size() + block_size);
  int written = 0;
  int final_written = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(plaintext.data());
  if (EVP_EncryptInit_ex(context.get(), EVP_aes_256_cbc(), nullptr, key.data(), iv) != 1 ||
      EVP_EncryptUpdate(context.get(), ciphertext.data(), &written, in, static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(context.get(), ciphertext.data() + written, &final_written) != 1)
    fail("OpenSSL could not encrypt the password");
  ciphertext.resize(static_cast<std::size_t>(written + final_written));
  return to_hex(iv, sizeof iv) + ":" + to_hex(ciphertext.data(), ciphertext.size());
}

}  // namespace migrate::crypto
