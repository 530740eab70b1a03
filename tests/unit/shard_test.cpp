#include <catch2/catch.hpp>

#include "migrate/core/error.hpp"
#include "migrate/runner/shard.hpp"

using namespace migrate;
using namespace migrate::runner;

TEST_CASE("shards cover every tenant exactly once and stay put as the fleet grows", "[shard]") {
  for (int count : {1, 2, 3, 7}) {
    std::vector<int> sizes(count);
    for (int t = 0; t < 3000; ++t) {
      int owners = 0;
      for (int k = 1; k <= count; ++k)
        if (in_shard("tenant-" + std::to_string(t), {k, count})) ++owners, ++sizes[k - 1];
      REQUIRE(owners == 1);
    }
    for (int size : sizes) CHECK(size > 3000 / count / 2);  // roughly even
  }
}

TEST_CASE("going from N to N plus 1 shards moves only about 1 in (N plus 1) of the tenants", "[shard]") {
  int moved = 0;
  for (int t = 0; t < 3000; ++t) {
    const auto id = "tenant-" + std::to_string(t);
    int before = 0, after = 0;
    for (int k = 1; k <= 4; ++k) before = in_shard(id, {k, 4}) ? k : before;
    for (int k = 1; k <= 5; ++k) after = in_shard(id, {k, 5}) ? k : after;
    moved += before != after;
  }
  CHECK(moved < 3000 * 0.3);
}

TEST_CASE("the shard option takes K slash N, with K from 1 to N", "[shard]") {
  CHECK(parse_shard("2/4").index == 2);
  CHECK(parse_shard("2/4").count == 4);
  for (const auto* bad : {"0/4", "5/4", "a/b", "3", "1/0"}) CHECK_THROWS_AS(parse_shard(bad), InputError);
}
