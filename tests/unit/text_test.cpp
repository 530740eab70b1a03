#include <catch2/catch.hpp>

#include "migrate/core/text.hpp"

using migrate::shortened_list;

TEST_CASE("shortened_list names the first few and counts the rest", "[core]") {
  CHECK(shortened_list({}) == "");
  CHECK(shortened_list({"a"}) == "a");
  CHECK(shortened_list({"a", "b", "c", "d", "e"}) == "a, b, c, d, e");
  CHECK(shortened_list({"a", "b", "c", "d", "e", "f"}) == "a, b, c, d, e and 1 more");
  std::vector<std::string> thirty;
  for (int i = 1; i <= 30; ++i) thirty.push_back("m" + std::to_string(i));
  CHECK(shortened_list(thirty) == "m1, m2, m3, m4, m5 and 25 more");
  CHECK(shortened_list(thirty, 2) == "m1, m2 and 28 more");
  CHECK(shortened_list({"a", "b"}, 0) == "2 more");
}
