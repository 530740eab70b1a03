#include "migrate/crypto/stored_password.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <vector>

#include "cbc.hpp"
#include "migrate/core/error.hpp"
#include "migrate/crypto/hex.hpp"

namespace migrate::crypto {
namespace {

constexpr std::string_view v2_prefix = "v2:";
constexpr std::size_t gcm_iv_size = 12;
constexpr std::size_t gcm_tag_size = 16;
constexpr std::size_t key_id_digits = 8;

struct CipherContextDeleter {
  void operator()(EVP_CIPHER_CTX* context) const { EVP_CIPHER_CTX_free(context); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextDeleter>;

CipherContext new_context() {
  CipherContext context(EVP_CIPHER_CTX_new());
  if (!context) {
    ERR_clear_error();
    throw RunError("OpenSSL could not allocate a cipher context");
  }
  return context;
}

// Lowercase hex only, as Node writes it: with upper case accepted too, changing a digit's case
// would change the value without changing its bytes, and a changed byte must always be refused.
bool lowercase_hex(std::string_view text) {
  return text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

struct V2Value {
  std::string key_id;
  std::vector<unsigned char> iv, tag, ciphertext;
};

// The parts of a "v2:" value; DecryptError naming what is wrong with its form.
V2Value parse_v2(std::string_view stored) {
  std::vector<std::string_view> parts;
  for (std::size_t start = v2_prefix.size();;) {
    const auto colon = stored.find(':', start);
    parts.push_back(stored.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() != 4)
    throw DecryptError("the v2 value has " + std::to_string(parts.size()) +
                       " parts after 'v2:', expected 4 (key id, IV, tag, ciphertext)");
  const auto bytes = [](std::string_view hex, const char* what, std::size_t expected) {
    if (!lowercase_hex(hex) || hex.size() % 2 != 0)
      throw DecryptError(std::string("the v2 value's ") + what + " is not lowercase hex of an even length");
    auto decoded = from_hex(hex);
    if (expected != 0 && decoded->size() != expected)
      throw DecryptError(std::string("the v2 value's ") + what + " is " + std::to_string(decoded->size()) +
                         " bytes, expected " + std::to_string(expected));
    return std::move(*decoded);
  };
  if (parts[0].size() != key_id_digits || !lowercase_hex(parts[0]))
    throw DecryptError("the v2 value's key id is not 8 lowercase hex digits");
  V2Value value{std::string(parts[0]), bytes(parts[1], "IV", gcm_iv_size), bytes(parts[2], "tag", gcm_tag_size),
                bytes(parts[3], "ciphertext", 0)};
  if (value.ciphertext.empty()) throw DecryptError("the v2 value's ciphertext is empty");
  return value;
}

// The plaintext of `value` under `key` when its tag checks out and it is printable; nothing
// otherwise, whatever the cause.
std::optional<Secret> try_v2(const V2Value& value, const Secret& key) {
  if (key.size() != 32) return std::nullopt;
  auto context = new_context();
  Secret plaintext(value.ciphertext.size() + 16);
  int written = 0;
  int final_written = 0;
  auto* tag = const_cast<unsigned char*>(value.tag.data());  // OpenSSL's API is not const-correct
  const bool ok =
      EVP_DecryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(value.iv.size()), nullptr) == 1 &&
      EVP_DecryptInit_ex(context.get(), nullptr, nullptr, key.data(), value.iv.data()) == 1 &&
      EVP_DecryptUpdate(context.get(), plaintext.data(), &written, value.ciphertext.data(),
                        static_cast<int>(value.ciphertext.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(value.tag.size()), tag) == 1 &&
      EVP_DecryptFinal_ex(context.get(), plaintext.data() + written, &final_written) == 1;
  if (!ok) {
    ERR_clear_error();
    return std::nullopt;
  }
  plaintext.shrink(static_cast<std::size_t>(written + final_written));
  if (plaintext.empty() || classify_password_text(plaintext.view()) != PasswordText::printable) return std::nullopt;
  return plaintext;
}

// What a ring tried, for the one reason a well-formed value gives: the same for every value.
std::string tried(const KeyRing& ring) {
  if (ring.previous_count() == 0) return {};
  return " (tried DB_ENCRYPTION_KEY and " + std::to_string(ring.previous_count()) + " of " +
         std::string(previous_keys_variable) + ")";
}

}  // namespace

std::string_view format_name(Format format) {
  return format == Format::v2 ? "v2" : "cbc";
}

std::optional<Format> parse_format(std::string_view name) {
  if (name == "cbc") return Format::cbc;
  if (name == "v2") return Format::v2;
  return std::nullopt;
}

OpenedPassword open_password(std::string_view stored, const KeyRing& ring) {
  const auto& keys = ring.keys();
  if (stored.starts_with(v2_prefix)) {
    const auto value = parse_v2(stored);
    bool known = false;
    // Every key of that id is tried: the same key given twice, or (once in 4 billion) two keys
    // whose ids agree.
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i].id != value.key_id) continue;
      known = true;
      if (auto plaintext = try_v2(value, keys[i].secret)) return {std::move(*plaintext), Format::v2, i};
    }
    if (!known)
      throw DecryptError("the v2 value is under key id " + value.key_id + ", which is neither DB_ENCRYPTION_KEY (" +
                         ring.current().id + ") nor one of " + std::string(previous_keys_variable) +
                         (ring.previous_count() == 0 ? " (not set)" : ""));
    detail::fail_undecryptable();
  }
  const auto value = detail::parse_cbc(stored);
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (auto plaintext = detail::try_cbc(value, keys[i].secret)) return {std::move(*plaintext), Format::cbc, i};
  detail::fail_undecryptable(tried(ring));
}

Secret decrypt_password(std::string_view stored, const KeyRing& ring) {
  return open_password(stored, ring).password;
}

std::string encrypt_password_v2(std::string_view plaintext, const Secret& key, const std::string& id) {
  if (key.size() != 32) throw RunError("the encryption key is not 32 bytes");
  unsigned char iv[gcm_iv_size];
  if (RAND_bytes(iv, sizeof iv) != 1) {
    ERR_clear_error();
    throw RunError("OpenSSL could not make a random IV");
  }
  auto context = new_context();
  std::vector<unsigned char> ciphertext(plaintext.size() + 16);
  unsigned char tag[gcm_tag_size];
  int written = 0;
  int final_written = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(plaintext.data());
  const bool ok =
      EVP_EncryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(sizeof iv), nullptr) == 1 &&
      EVP_EncryptInit_ex(context.get(), nullptr, nullptr, key.data(), iv) == 1 &&
      EVP_EncryptUpdate(context.get(), ciphertext.data(), &written, in, static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(context.get(), ciphertext.data() + written, &final_written) == 1 &&
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(sizeof tag), tag) == 1;
  if (!ok) {
    ERR_clear_error();
    throw RunError("OpenSSL could not encrypt the password");
  }
  ciphertext.resize(static_cast<std::size_t>(written + final_written));
  return std::string(v2_prefix) + id + ":" + to_hex(iv, sizeof iv) + ":" + to_hex(tag, sizeof tag) + ":" +
         to_hex(ciphertext.data(), ciphertext.size());
}

std::string seal_password(std::string_view plaintext, const KeyRing& ring, Format format) {
  const auto& current = ring.current();
  if (format == Format::v2) return encrypt_password_v2(plaintext, current.secret, current.id);
  return encrypt_password(plaintext, current.secret);
}

}  // namespace migrate::crypto
