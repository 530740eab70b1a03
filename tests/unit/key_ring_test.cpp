// The key ring (DB_ENCRYPTION_KEY, DB_ENCRYPTION_KEY_PREVIOUS), key ids, and the two stored formats
// read and written under it.
#include <openssl/hmac.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "migrate/core/error.hpp"
#include "migrate/crypto/hex.hpp"
#include "migrate/crypto/key.hpp"
#include "migrate/crypto/key_ring.hpp"
#include "migrate/crypto/password_cipher.hpp"
#include "migrate/crypto/stored_password.hpp"

using namespace migrate;
using namespace migrate::crypto;

namespace {

const std::string current_text = "current-key-0123456789abcdefghij";
const std::string old_text = "old-key-0123456789abcdefghijklmn";
const std::string older_hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const std::string one_reason = "wrong key or corrupted value";

KeyRing ring_of(const std::string& current, const std::string& previous = "") {
  return KeyRing(parse_key(current), parse_previous_keys(previous));
}

// The message `stored` fails with under `ring`; fails the test when it decrypts.
std::string failure(const std::string& stored, const KeyRing& ring) {
  try {
    decrypt_password(stored, ring);
  } catch (const DecryptError& error) {
    return error.what();
  }
  FAIL("decrypted: " << stored);
  return {};
}

std::string input_error(const std::string& previous) {
  try {
    parse_previous_keys(previous);
  } catch (const InputError& error) {
    return error.what();
  }
  FAIL("accepted");
  return {};
}

}  // namespace

TEST_CASE("key_ring: a key id is the first 8 hex digits of HMAC-SHA256 of the key over migrate key id",
          "[crypto][key_ring]") {
  const auto key = parse_key(current_text);
  unsigned char digest[32];
  unsigned int size = 0;
  const std::string label = "migrate key id";
  HMAC(EVP_sha256(), current_text.data(), 32, reinterpret_cast<const unsigned char*>(label.data()), label.size(),
       digest, &size);
  CHECK(key_id(key) == to_hex(digest, 4));
  // As Node computes it: crypto.createHmac('sha256', 'current-key-0123456789abcdefghij')
  //   .update('migrate key id').digest('hex').slice(0, 8)
  CHECK(key_id(key) == "61ff4d14");
  CHECK(key_id(parse_key(older_hex)) != key_id(key));
  const auto ring = ring_of(current_text, old_text + "," + older_hex);
  REQUIRE(ring.keys().size() == 3);
  CHECK(ring.current().id == key_id(key));
  CHECK(ring.keys()[2].id == key_id(parse_key(older_hex)));
  CHECK(ring.keys()[0].name == "DB_ENCRYPTION_KEY");
  CHECK(ring.keys()[2].name == "DB_ENCRYPTION_KEY_PREVIOUS key 2");
}

TEST_CASE("key_ring: v2 round trip, under the current key, with a fresh IV each time", "[crypto][key_ring]") {
  const auto ring = ring_of(current_text, old_text);
  for (const std::string& password : {std::string("x"), std::string("simple"), std::string("sixteen-bytes-xx"),
                                      std::string("ünïcødé-пароль-🔑"), std::string(300, 'a')}) {
    const auto stored = seal_password(password, ring, Format::v2);
    INFO(stored);
    CHECK_THAT(stored, Catch::Matches("v2:" + ring.current().id + ":[0-9a-f]{24}:[0-9a-f]{32}:[0-9a-f]+"));
    CHECK(stored.find(password) == std::string::npos);
    const auto opened = open_password(stored, ring);
    CHECK(opened.password.view() == password);
    CHECK(opened.format == Format::v2);
    CHECK(opened.key_index == 0);
    CHECK(seal_password(password, ring, Format::v2) != stored);
  }
  const auto cbc = seal_password("cbc-password", ring, Format::cbc);
  CHECK_THAT(cbc, Catch::Matches("[0-9a-f]{32}:[0-9a-f]{32}"));
  CHECK(decrypt_password(cbc, parse_key(current_text)).view() == "cbc-password");
  CHECK(open_password(cbc, ring).format == Format::cbc);
}

TEST_CASE("key_ring: every single-byte change of a v2 value is refused", "[crypto][key_ring]") {
  const auto ring = ring_of(current_text, old_text);
  const auto stored = seal_password("the-real-password", ring, Format::v2);
  int tag_failures = 0;
  for (std::size_t at = 0; at < stored.size(); ++at) {
    for (int byte = 0; byte < 256; ++byte) {
      const auto c = static_cast<char>(byte);
      if (c == stored[at]) continue;
      auto changed = stored;
      changed[at] = c;
      INFO("position " << at << " to byte " << byte);
      const auto message = failure(changed, ring);
      CHECK(message.find("the-real") == std::string::npos);
      // A change that keeps the form (a lowercase hex digit for another, in IV, tag or ciphertext)
      // fails the tag, with the one reason; other changes are named as malformed or unknown key ids.
      const bool lowercase_hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      if (at > 11 && stored[at] != ':' && lowercase_hex) {
        CHECK(message == one_reason);
        ++tag_failures;
      }
    }
  }
  CHECK(tag_failures > 1000);
  // Truncated or extended.
  CHECK(failure(stored.substr(0, stored.size() - 2), ring) == one_reason);
  CHECK(failure(stored + "00", ring) == one_reason);
}

TEST_CASE("key_ring: a v2 value under a key id the ring does not have names the id", "[crypto][key_ring]") {
  const auto other = parse_key(older_hex);
  const auto stored = encrypt_password_v2("some-password", other, key_id(other));
  const auto ring = ring_of(current_text, old_text);
  CHECK(failure(stored, ring) == "the v2 value is under key id " + key_id(other) +
                                     ", which is neither DB_ENCRYPTION_KEY (" + ring.current().id +
                                     ") nor one of DB_ENCRYPTION_KEY_PREVIOUS");
  CHECK(failure(stored, ring_of(current_text)) ==
        "the v2 value is under key id " + key_id(other) + ", which is neither DB_ENCRYPTION_KEY (" +
            ring_of(current_text).current().id + ") nor one of DB_ENCRYPTION_KEY_PREVIOUS (not set)");
  // Named by the id of a key the ring has, but sealed under another: the tag fails.
  const auto ring_key = parse_key(current_text);
  CHECK(failure(encrypt_password_v2("some-password", other, key_id(ring_key)), ring) == one_reason);
  // Under a previous key: read, and said so.
  const auto with_it = ring_of(current_text, old_text + "," + older_hex);
  const auto opened = open_password(stored, with_it);
  CHECK(opened.password.view() == "some-password");
  CHECK(opened.key_index == 2);
}

TEST_CASE("key_ring: malformed v2 values are named, never decrypted", "[crypto][key_ring]") {
  const auto ring = ring_of(current_text);
  const auto id = ring.current().id;
  const std::string iv(24, 'a'), tag(32, 'b'), ct = "0011";
  CHECK(failure("v2:" + id + ":" + iv + ":" + tag, ring) ==
        "the v2 value has 3 parts after 'v2:', expected 4 (key id, IV, tag, ciphertext)");
  CHECK(failure("v2:" + id + ":" + iv + ":" + tag + ":" + ct + ":00", ring) ==
        "the v2 value has 5 parts after 'v2:', expected 4 (key id, IV, tag, ciphertext)");
  CHECK(failure("v2:ABCDEF01:" + iv + ":" + tag + ":" + ct, ring) ==
        "the v2 value's key id is not 8 lowercase hex digits");
  CHECK(failure("v2:" + id + ":" + std::string(32, 'a') + ":" + tag + ":" + ct, ring) ==
        "the v2 value's IV is 16 bytes, expected 12");
  CHECK(failure("v2:" + id + ":" + iv + ":" + std::string(30, 'b') + ":" + ct, ring) ==
        "the v2 value's tag is 15 bytes, expected 16");
  CHECK(failure("v2:" + id + ":" + iv + ":" + tag + ":", ring) == "the v2 value's ciphertext is empty");
  CHECK(failure("v2:" + id + ":" + iv + ":" + tag + ":00FF", ring) ==
        "the v2 value's ciphertext is not lowercase hex of an even length");
}

TEST_CASE("key_ring: a CBC value under a previous key decrypts, the current key tried first", "[crypto][key_ring]") {
  const auto ring = ring_of(current_text, old_text + "," + older_hex);
  const auto under_old = encrypt_password("old-password", parse_key(old_text));
  const auto under_older = encrypt_password("older-password", parse_key(older_hex));
  const auto under_current = encrypt_password("current-password", parse_key(current_text));
  auto opened = open_password(under_old, ring);
  CHECK(opened.password.view() == "old-password");
  CHECK(opened.key_index == 1);
  CHECK(opened.format == Format::cbc);
  opened = open_password(under_older, ring);
  CHECK(opened.password.view() == "older-password");
  CHECK(opened.key_index == 2);
  CHECK(open_password(under_current, ring).key_index == 0);
  // No key of the ring: the one reason, saying what was tried, never which check failed.
  const auto stranger = encrypt_password("stranger", parse_key(std::string(32, 's')));
  CHECK(failure(stranger, ring) == one_reason + " (tried DB_ENCRYPTION_KEY and 2 of DB_ENCRYPTION_KEY_PREVIOUS)");
  CHECK(failure(stranger, ring_of(current_text)) == one_reason);
  // A malformed CBC value is named as before.
  CHECK(failure("nothex:00", ring) == "the IV is not hex (expected 32 hex digits before ':')");
}

TEST_CASE("key_ring: DB_ENCRYPTION_KEY_PREVIOUS takes comma-separated keys, raw or hex", "[crypto][key_ring]") {
  CHECK(parse_previous_keys("").empty());
  const auto keys = parse_previous_keys(old_text + "," + older_hex + "," + current_text);
  REQUIRE(keys.size() == 3);
  CHECK(keys[0].view() == old_text);
  CHECK(to_hex(keys[1].data(), keys[1].size()) == older_hex);
  CHECK(keys[2].view() == current_text);
  // A raw key with a comma in it, given as hex.
  const std::string with_comma = "has,a,comma-0123456789abcdefghij";
  REQUIRE(with_comma.size() == 32);
  const auto hex = to_hex(reinterpret_cast<const unsigned char*>(with_comma.data()), with_comma.size());
  CHECK(parse_previous_keys(hex)[0].view() == with_comma);
}

TEST_CASE("key_ring: DB_ENCRYPTION_KEY_PREVIOUS refusals name the key by place, never show it", "[crypto][key_ring]") {
  const std::string hint =
      " (keys are separated by commas, without spaces; a raw key that holds a comma must be given as 64 hex digits)";
  const std::string with_comma = "has,a,comma-0123456789abcdefghij";
  CHECK(input_error(with_comma) ==
        "DB_ENCRYPTION_KEY_PREVIOUS key 1 of 3 must be 32 characters (used as raw bytes) or 64 hex digits (32 bytes); "
        "it has 3 characters" +
            hint);
  CHECK(input_error(old_text + ", " + older_hex) ==
        "DB_ENCRYPTION_KEY_PREVIOUS key 2 of 2 must be 32 characters (used as raw bytes) or 64 hex digits (32 bytes); "
        "it has 65 characters" +
            hint);
  CHECK(input_error(old_text + ",") == "DB_ENCRYPTION_KEY_PREVIOUS key 2 of 2 is empty" + hint);
  CHECK(input_error("," + old_text) == "DB_ENCRYPTION_KEY_PREVIOUS key 1 of 2 is empty" + hint);
  const std::string not_hex = std::string(63, 'a') + "z";
  const auto message = input_error(old_text + "," + not_hex);
  CHECK(message ==
        "DB_ENCRYPTION_KEY_PREVIOUS key 2 of 2 has 64 characters but they are not all hex digits; it must be 32 "
        "characters (used as raw bytes) or 64 hex digits (32 bytes)" +
            hint);
  for (const auto& secret : {old_text, not_hex, with_comma.substr(0, 9), std::string("comma-0123")})
    CHECK(message.find(secret) == std::string::npos);
}

TEST_CASE("key_ring: from_environment reads DB_ENCRYPTION_KEY and DB_ENCRYPTION_KEY_PREVIOUS", "[crypto][key_ring]") {
  ::setenv("DB_ENCRYPTION_KEY", current_text.c_str(), 1);
  ::setenv("DB_ENCRYPTION_KEY_PREVIOUS", (old_text + "," + older_hex).c_str(), 1);
  const auto ring = KeyRing::from_environment();
  CHECK(ring.previous_count() == 2);
  CHECK(ring.current().secret.view() == current_text);
  ::unsetenv("DB_ENCRYPTION_KEY_PREVIOUS");
  CHECK(KeyRing::from_environment().previous_count() == 0);
  ::setenv("DB_ENCRYPTION_KEY_PREVIOUS", "", 1);
  CHECK(KeyRing::from_environment().previous_count() == 0);
  ::setenv("DB_ENCRYPTION_KEY_PREVIOUS", "short", 1);
  CHECK_THROWS_AS(KeyRing::from_environment(), InputError);
  ::unsetenv("DB_ENCRYPTION_KEY_PREVIOUS");
  ::unsetenv("DB_ENCRYPTION_KEY");
}

TEST_CASE("key_ring: cbc and v2 are the format names", "[crypto][key_ring]") {
  CHECK(parse_format("cbc") == Format::cbc);
  CHECK(parse_format("v2") == Format::v2);
  CHECK_FALSE(parse_format("V2"));
  CHECK_FALSE(parse_format("gcm"));
  CHECK(format_name(Format::v2) == "v2");
  CHECK(format_name(Format::cbc) == "cbc");
}
