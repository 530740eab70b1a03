#include <catch2/catch.hpp>
#include <cctype>
#include <map>
#include <set>
#include <string>

#include "migrate/crypto/random_password.hpp"

using migrate::crypto::generate_password;

TEST_CASE("a generated password is 40 letters and digits by default, or the length asked", "[random_password]") {
  const auto password = generate_password();
  REQUIRE(password.size() == 40);
  for (const char c : password.view()) CHECK(std::isalnum(static_cast<unsigned char>(c)));
  CHECK(generate_password(64).size() == 64);
}

TEST_CASE("generated passwords differ and use the whole alphabet about evenly", "[random_password]") {
  std::set<std::string> seen;
  std::map<char, int> counts;
  for (int i = 0; i < 500; ++i) {
    const auto password = generate_password();
    seen.insert(std::string(password.view()));
    for (const char c : password.view()) ++counts[c];
  }
  CHECK(seen.size() == 500);
  // 20,000 characters over 62: about 323 each. A modulo bias or a short alphabet shows far outside this.
  CHECK(counts.size() == 62);
  for (const auto& [c, n] : counts) {
    INFO("character " << c);
    CHECK(n > 200);
    CHECK(n < 460);
  }
}
