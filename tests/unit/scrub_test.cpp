#include <catch2/catch.hpp>

#include "migrate/pg/errors.hpp"

using migrate::pg::scrub;

TEST_CASE("scrub hides passwords in libpq texts", "[pg]") {
  CHECK(scrub("failed for host=db password=s3cret user=x") == "failed for host=db password=<redacted> user=x");
  CHECK(scrub("password='a b\\'c' next") == "password=<redacted> next");
  CHECK(scrub("postgresql://app:s3cret@db:5432/platform\n") == "postgresql://app:<redacted>@db:5432/platform");
  CHECK(scrub("auth failed, tried hunter2 twice", "hunter2") == "auth failed, tried <redacted> twice");
  CHECK(scrub("nothing secret here") == "nothing secret here");
}
