#include "migrate/crypto/key_ring.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>

#include "migrate/core/error.hpp"
#include "migrate/crypto/hex.hpp"
#include "migrate/crypto/key.hpp"

namespace migrate::crypto {

std::string key_id(const Secret& key) {
  static constexpr std::string_view label = "migrate key id";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(label.data()),
           label.size(), digest, &size) == nullptr) {
    ERR_clear_error();
    throw RunError("OpenSSL could not compute a key id");
  }
  return to_hex(digest, 4);
}

std::vector<Secret> parse_previous_keys(std::string_view text) {
  std::vector<Secret> keys;
  if (text.empty()) return keys;
  std::vector<std::string_view> items;
  for (std::size_t start = 0;;) {
    const auto comma = text.find(',', start);
    items.push_back(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  const std::string hint =
      " (keys are separated by commas, without spaces; a raw key that holds a comma must be given as 64 hex "
      "digits)";
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string name =
        std::string(previous_keys_variable) + " key " + std::to_string(i + 1) + " of " + std::to_string(items.size());
    if (items[i].empty()) throw InputError(name + " is empty" + hint);
    keys.push_back(parse_key(items[i], name, hint));
  }
  return keys;
}

KeyRing::KeyRing(Secret current, std::vector<Secret> previous) {
  keys_.reserve(previous.size() + 1);
  const auto id = key_id(current);
  keys_.push_back({std::move(current), id, std::string(key_variable)});
  for (std::size_t i = 0; i < previous.size(); ++i) {
    const auto previous_id = key_id(previous[i]);
    keys_.push_back(
        {std::move(previous[i]), previous_id, std::string(previous_keys_variable) + " key " + std::to_string(i + 1)});
  }
}

KeyRing KeyRing::from_environment() {
  auto current = key_from_environment();
  const char* previous = std::getenv(std::string(previous_keys_variable).c_str());
  return KeyRing(std::move(current), parse_previous_keys(previous == nullptr ? "" : previous));
}

}  // namespace migrate::crypto
