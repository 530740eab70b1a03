#pragma once
// The keys tenant passwords may be encrypted under: DB_ENCRYPTION_KEY, the current one (every
// value written is under it), and DB_ENCRYPTION_KEY_PREVIOUS, older ones still accepted for
// reading while a rotation is under way.
#include <string>
#include <string_view>
#include <vector>

#include "migrate/crypto/secret.hpp"

namespace migrate::crypto {

inline constexpr std::string_view previous_keys_variable = "DB_ENCRYPTION_KEY_PREVIOUS";

// The id a v2 value names its key by: the first 8 hex digits of HMAC-SHA256(`key`, "migrate key
// id"). It says which key without saying anything usable about it. Throws RunError when OpenSSL fails.
std::string key_id(const Secret& key);

// The keys `text` lists, comma-separated, each as parse_key() takes it (32 characters or 64 hex
// digits). Empty text: none. Throws InputError naming DB_ENCRYPTION_KEY_PREVIOUS and the key's
// place in the list ("key 2 of 3"), never the key; a raw key holding a comma must be given as hex.
std::vector<Secret> parse_previous_keys(std::string_view text);

class KeyRing {
 public:
  struct Key {
    Secret secret;
    std::string id;    // key_id(secret)
    std::string name;  // "DB_ENCRYPTION_KEY" or "DB_ENCRYPTION_KEY_PREVIOUS key 2": for output
  };

  KeyRing(Secret current, std::vector<Secret> previous = {});
  // DB_ENCRYPTION_KEY (InputError when unset or malformed, see key_from_environment) and
  // DB_ENCRYPTION_KEY_PREVIOUS (optional; see parse_previous_keys).
  static KeyRing from_environment();

  // The current key first, then the previous ones in the order given.
  const std::vector<Key>& keys() const { return keys_; }
  const Key& current() const { return keys_.front(); }
  std::size_t previous_count() const { return keys_.size() - 1; }

 private:
  std::vector<Key> keys_;
};

}  // namespace migrate::crypto
