#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>

#include "migrate/core/error.hpp"
#include "migrate/crypto/hex.hpp"
#include "migrate/crypto/key.hpp"
#include "migrate/crypto/password_cipher.hpp"
#include "support/seed.hpp"

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

// "the-real-password" encrypted under raw_key: fixed, so that a seed alone replays a test.
const std::string real_password_stored =
    "3d53d764ab4687896173d8dcd8100751:3af850aeeb18041add28095f4a40da670063a999be9fea636622232f36de5ce0";

// The one reason given for every well-formed value that does not decrypt.
const std::string one_reason = "wrong key or corrupted value";

// A 32-byte key drawn from `random`.
Secret random_key(std::mt19937_64& random) {
  Secret key(32);
  std::uniform_int_distribution<int> byte(0, 255);
  for (std::size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<unsigned char>(byte(random));
  return key;
}

// Whether `stored` decrypted under `key` ends in valid PKCS#7 padding, decided here with OpenSSL
// directly (padding off), so a test knows which check a wrong key fails without reading messages.
bool passes_padding(const std::string& stored, const Secret& key) {
  const auto iv = from_hex(stored.substr(0, 32));
  const auto ciphertext = from_hex(stored.substr(33));
  REQUIRE(iv);
  REQUIRE(ciphertext);
  std::vector<unsigned char> plain(ciphertext->size() + 16);
  int written = 0;
  EVP_CIPHER_CTX* context = EVP_CIPHER_CTX_new();
  REQUIRE(context);
  const bool ok =
      EVP_DecryptInit_ex(context, EVP_aes_256_cbc(), nullptr, key.data(), iv->data()) == 1 &&
      EVP_CIPHER_CTX_set_padding(context, 0) == 1 &&
      EVP_DecryptUpdate(context, plain.data(), &written, ciphertext->data(), static_cast<int>(ciphertext->size())) == 1;
  EVP_CIPHER_CTX_free(context);
  REQUIRE(ok);
  REQUIRE(written >= 16);
  const unsigned pad = plain[static_cast<std::size_t>(written) - 1];
  if (pad == 0 || pad > 16) return false;
  for (auto i = static_cast<std::size_t>(written) - pad; i < static_cast<std::size_t>(written); ++i)
    if (plain[i] != pad) return false;
  return true;
}

// The message decrypt_password throws for `stored` under `key`; fails the test if it decrypts.
std::string decrypt_failure(const std::string& stored, const Secret& key) {
  try {
    decrypt_password(stored, key);
  } catch (const DecryptError& error) {
    return error.what();
  }
  FAIL("decrypted");
  return {};
}

// How many times the bytes that `masked` holds (each XORed with `mask`, so that this test's own
// copy never matches) occur in the process's heap: the [heap] mapping and anonymous read-write
// mappings, read through /proc/self/mem, this function's own buffer left out. Mappings above 1 GiB
// are left out too: they are reservations (AddressSanitizer's shadow memory), not the heap.
std::size_t copies_in_heap(const std::vector<unsigned char>& masked, unsigned char mask) {
  constexpr std::size_t chunk = 1 << 20;
  std::vector<unsigned char> buffer(chunk + masked.size());  // allocated before the maps are read
  const auto own_begin = reinterpret_cast<std::uintptr_t>(buffer.data());
  const auto own_end = own_begin + buffer.size();
  std::vector<std::pair<std::uintptr_t, std::uintptr_t>> regions;
  {
    std::ifstream maps("/proc/self/maps");
    for (std::string line; std::getline(maps, line);) {
      std::istringstream fields(line);
      std::string range, perms, offset, device, inode, path;
      fields >> range >> perms >> offset >> device >> inode >> path;
      if (perms.rfind("rw", 0) != 0 || !(path.empty() || path == "[heap]")) continue;
      const auto dash = range.find('-');
      const std::uintptr_t begin = std::stoull(range.substr(0, dash), nullptr, 16);
      const std::uintptr_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
      if (end - begin <= (std::uintptr_t{1} << 30)) regions.emplace_back(begin, end);
    }
  }
  const int memory = ::open("/proc/self/mem", O_RDONLY);
  REQUIRE(memory >= 0);
  std::size_t found = 0;
  const auto scan = [&](std::uintptr_t begin, std::uintptr_t end) {
    for (auto at = begin; at < end; at += chunk) {
      const auto want = std::min<std::uintptr_t>(end - at, chunk + masked.size() - 1);
      const auto got = ::pread(memory, buffer.data(), want, static_cast<off_t>(at));
      if (got <= 0) return;
      const auto size = static_cast<std::size_t>(got);
      for (std::size_t i = 0; i + masked.size() <= size && i < chunk; ++i) {
        std::size_t k = 0;
        while (k < masked.size() && (buffer[i + k] ^ mask) == masked[k]) ++k;
        found += k == masked.size();
      }
    }
  };
  for (const auto& [begin, end] : regions) {
    if (own_end <= begin || end <= own_begin) {
      scan(begin, end);
      continue;
    }
    if (begin < own_begin) scan(begin, own_begin);
    if (own_end < end) scan(own_end, end);
  }
  ::close(memory);
  return found;
}

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

TEST_CASE("what we encrypt decrypts back, in Node format with a fresh IV each time", "[crypto]") {
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
  const std::string hex = "00112233445566778899AABBCCDDEEFF0123456789abcdef0123456789ABCDEF";
  const auto mixed_case = parse_key(hex);
  CHECK(to_hex(mixed_case.data(), mixed_case.size()) ==
        "00112233445566778899aabbccddeeff0123456789abcdef0123456789abcdef");
}

TEST_CASE("a key of any other form is refused without echoing it", "[crypto]") {
  for (const std::string& bad :
       {std::string("short-secret"), std::string(33, 'k'), std::string(64, 'z'), std::string(62, 'a') + "zz"}) {
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

TEST_CASE("malformed stored passwords say what is malformed, never bytes", "[crypto]") {
  const auto key = parse_key(raw_key);
  const auto good = encrypt_password("secret-password", key);
  const std::string iv = good.substr(0, 32);
  const std::string ct = good.substr(33);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "the encrypted password is empty"},
      {iv + ct, "the encrypted password has no ':' between IV and ciphertext"},
      {iv.substr(0, 30) + ":" + ct, "the IV is 15 bytes, expected 16"},
      {"zz" + iv.substr(2) + ":" + ct, "the IV is not hex (expected 32 hex digits before ':')"},
      {iv + ":" + ct.substr(1), "the ciphertext is not hex or has an odd length"},
      {iv + ":" + ct.substr(0, ct.size() - 2) + "zz", "the ciphertext is not hex or has an odd length"},
      {iv + ":" + ct.substr(0, 30), "the ciphertext is 15 bytes, not a whole number of 16-byte blocks"},
      {iv + ":", "the ciphertext is 0 bytes, not a whole number of 16-byte blocks"},
  };
  for (const auto& [stored, reason] : cases) {
    INFO("stored '" << stored << "'");
    CHECK(decrypt_failure(stored, key) == reason);
  }
}

TEST_CASE("a wrong key is never taken for a password, and always gets the one reason", "[crypto]") {
  const auto seed = support::test_seed();
  INFO(support::seed_note(seed));
  std::mt19937_64 random(seed);
  int passed_padding = 0;
  for (int i = 0; i < 3000; ++i) {
    const auto wrong = random_key(random);
    passed_padding += passes_padding(real_password_stored, wrong);
    CHECK(decrypt_failure(real_password_stored, wrong) == one_reason);
  }
  CHECK(passed_padding > 0);  // ~1 in 256 wrong keys pass the padding check
}

TEST_CASE("failing the padding check and failing the UTF-8 check give identical messages (no padding oracle)",
          "[crypto]") {
  const auto seed = support::test_seed();
  INFO(support::seed_note(seed));
  std::mt19937_64 random(seed);
  std::string bad_padding, bad_text;
  for (int i = 0; i < 100000 && (bad_padding.empty() || bad_text.empty()); ++i) {
    const auto wrong = random_key(random);
    auto& slot = passes_padding(real_password_stored, wrong) ? bad_text : bad_padding;
    if (slot.empty()) slot = decrypt_failure(real_password_stored, wrong);
  }
  REQUIRE_FALSE(bad_padding.empty());
  REQUIRE_FALSE(bad_text.empty());
  CHECK(bad_padding == bad_text);
  CHECK(bad_padding == one_reason);
}

TEST_CASE("an empty plaintext or one with control characters or invalid UTF-8 gets the one reason", "[crypto]") {
  const auto key = parse_key(raw_key);
  for (const std::string& bad : {std::string(), std::string("tab\there"), std::string("nul\0x", 5),
                                 std::string("\xff\xfe"), std::string("\xc0\xaf"), std::string("c1-\xc2\x85")}) {
    INFO("plaintext of " << bad.size() << " bytes");
    CHECK(decrypt_failure(encrypt_password(bad, key), key) == one_reason);
  }
}

TEST_CASE("a failed decryption leaves nothing in the OpenSSL error queue", "[crypto]") {
  const auto key = parse_key(raw_key);
  const auto seed = support::test_seed();
  INFO(support::seed_note(seed));
  std::mt19937_64 random(seed);
  ERR_clear_error();
  for (int i = 0; i < 50; ++i) {
    const auto wrong = random_key(random);
    decrypt_failure(real_password_stored, wrong);
    CHECK(ERR_peek_error() == 0);
  }
  decrypt_failure(encrypt_password("tab\there", key), key);
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("classify_password_text tells printable text, control characters and invalid UTF-8 apart", "[crypto]") {
  for (const std::string printable : {"p@ss:w/rd 'q' \"d\"", "spaces are fine ", "ünïcødé-🔑", "\xc2\xa0nbsp"})
    CHECK(classify_password_text(printable) == PasswordText::printable);
  for (const std::string& control : {std::string("tab\there"), std::string("nul\0x", 5), std::string("cr\r"),
                                     std::string("del\x7f"), std::string("c1-\xc2\x85"), std::string("lf\n")})
    CHECK(classify_password_text(control) == PasswordText::control_character);
  for (const std::string invalid : {"caf\xe9", "\xc0\xaf", "\xed\xa0\x80", "cut\xf0\x9f", "\xf4\x90\x80\x80", "\xff"})
    CHECK(classify_password_text(invalid) == PasswordText::invalid_utf8);
}

TEST_CASE("a decrypted password leaves no copy in the heap once its Secret is gone", "[crypto]") {
  const auto key = parse_key(raw_key);
  const auto seed = support::test_seed();
  INFO(support::seed_note(seed));
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<int> letter('a', 'z');
  const unsigned char mask = 0x5a;
  // A long password made in a wiped buffer. What is looked for is its tail: malloc writes its own
  // pointers over the first bytes of a block it takes back.
  constexpr std::size_t size = 240, skipped = 64;
  std::vector<unsigned char> masked_tail;
  std::string stored;
  {
    Secret password(size);
    for (std::size_t i = 0; i < size; ++i) password.data()[i] = static_cast<unsigned char>(letter(random));
    for (std::size_t i = skipped; i < size; ++i) masked_tail.push_back(password.data()[i] ^ mask);
    stored = encrypt_password(password.view(), key);
  }
  REQUIRE(copies_in_heap(masked_tail, mask) == 0);
  {
    const auto decrypted = decrypt_password(stored, key);
    REQUIRE(decrypted.size() == size);
    CHECK(copies_in_heap(masked_tail, mask) == 1);  // the scan sees the one copy that lives
  }
  CHECK(copies_in_heap(masked_tail, mask) == 0);
}
