#include <openssl/rand.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "migrate/core/error.hpp"
#include "migrate/crypto/hex.hpp"
#include "migrate/crypto/key.hpp"
#include "migrate/crypto/password_cipher.hpp"

using namespace migrate;
using namespace migrate::crypto;

namespace {

struct Vector {
  std::string key_form, key, plaintext, stored;
};

std::vector<Vector> node_vectors() {
  std::ifstream in(MIGRATE_VECTORS);
  REQUIRE(in);
  std::vector<Vector> vectors;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    Vector v;
    std::string plaintext_hex;
    std::getline(fields, v.key_form, '\t');
    std::getline(fields, v.key, '\t');
    std::getline(fields, plaintext_hex, '\t');
    std::getline(fields, v.stored, '\t');
    const auto bytes = from_hex(plaintext_hex);
    REQUIRE(bytes);
    v.plaintext.assign(bytes->begin(), bytes->end());
    vectors.push_back(v);
  }
  return vectors;
}

const std::string raw_key = "your-32-character-secret-key!!!!";

}  // namespace

TEST_CASE("every password Node encrypted decrypts to its plaintext", "[crypto]") {
  const auto vectors = node_vectors();
  REQUIRE(vectors.size() == 22);
  bool saw_hex_key = false, saw_one_block = false, saw_non_ascii = false;
  for (const auto& v : vectors) {
    INFO("vector " << v.stored);
    const auto key = parse_key(v.key);
    CHECK(decrypt_password(v.stored, key).view() == v.plaintext);
    saw_hex_key |= v.key_form == "hex";
    saw_one_block |= v.plaintext.size() == 16;
    saw_non_ascii |= v.plaintext.find("\xf0\x9f\x94\x91") != std::string::npos;
  }
  CHECK(saw_hex_key);
  CHECK(saw_one_block);
  CHECK(saw_non_ascii);
}

TEST_CASE("what we encrypt decrypts back, in Node's format with a fresh IV each time", "[crypto]") {
  const auto key = parse_key(raw_key);
  for (const std::string password : {"x", "sixteen-bytes-xx", "p@ss:w/rd 'q' \"d\"", "ünïcødé"}) {
    const auto stored = encrypt_password(password, key);
    CHECK(stored.size() > 33);
    CHECK(stored[32] == ':');
    CHECK(stored.find_first_not_of("0123456789abcdef:") == std::string::npos);
    CHECK(decrypt_password(stored, key).view() == password);
    CHECK(encrypt_password(password, key) != stored);
  }
}

TEST_CASE("a 32-character key is its raw bytes, 64 hex digits are decoded", "[crypto]") {
  CHECK(parse_key(raw_key).view() == raw_key);
  const auto decoded = parse_key(std::string(62, '0') + "ff");
  REQUIRE(decoded.size() == 32);
  CHECK(static_cast<int>(decoded.data()[31]) == 0xff);
}

TEST_CASE("a key of any other form is refused without echoing it", "[crypto]") {
  for (const std::string& bad : {std::string("short-secret"), std::string(33, 'k'), std::string(64, 'z')}) {
    try {
      parse_key(bad);
      FAIL("accepted " << bad);
    } catch (const InputError& error) {
      const std::string message = error.what();
      CHECK(message.find("DB_ENCRYPTION_KEY") != std::string::npos);
      CHECK(message.find("64 hex digits") != std::string::npos);
      CHECK(message.find(bad) == std::string::npos);
    }
  }
}

TEST_CASE("malformed stored passwords give a reason, never bytes", "[crypto]") {
  const auto key = parse_key(raw_key);
  const auto good = encrypt_password("secret-password", key);
  const std::string iv = good.substr(0, 32);
  const std::string ct = good.substr(33);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty"},
      {iv + ct, "no ':'"},
      {iv.substr(0, 30) + ":" + ct, "IV is 15 bytes"},
      {"zz" + iv.substr(2) + ":" + ct, "IV is not hex"},
      {iv + ":" + ct.substr(1), "odd length"},
      {iv + ":" + ct.substr(0, ct.size() - 2) + "zz", "not hex"},
      {iv + ":" + ct.substr(0, 30), "not a whole number of 16-byte blocks"},
      {iv + ":", "not a whole number of 16-byte blocks"},
  };
  for (const auto& [stored, reason] : cases) {
    INFO("stored '" << stored << "'");
    try {
      decrypt_password(stored, key);
      FAIL("decrypted");
    } catch (const DecryptError& error) {
      CHECK_THAT(error.what(), Catch::Contains(reason));
    }
  }
}

TEST_CASE("a wrong key is never taken for a password", "[crypto]") {
  const auto key = parse_key(raw_key);
  const auto stored = encrypt_password("the-real-password", key);
  int padding = 0, not_printable = 0;
  for (int i = 0; i < 3000; ++i) {
    Secret wrong(32);
    REQUIRE(RAND_bytes(wrong.data(), 32) == 1);
    try {
      decrypt_password(stored, wrong);
      FAIL("a wrong key gave a password");
    } catch (const DecryptError& error) {
      const std::string message = error.what();
      padding += message.find("bad padding") != std::string::npos;
      not_printable += message.find("not printable UTF-8") != std::string::npos;
    }
  }
  CHECK(padding + not_printable == 3000);
  CHECK(not_printable > 0);  // ~1 in 256 wrong keys pass the padding check
}

TEST_CASE("a plaintext with control characters or invalid UTF-8 is refused", "[crypto]") {
  const auto key = parse_key(raw_key);
  for (const std::string& bad :
       {std::string("tab\there"), std::string("nul\0x", 5), std::string("\xff\xfe"), std::string("\xc0\xaf")}) {
    CHECK_THROWS_WITH(decrypt_password(encrypt_password(bad, key), key), Catch::Contains("not printable UTF-8"));
  }
}
