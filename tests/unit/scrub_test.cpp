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

// Found by tests/fuzz/scrub.cpp: a password inside "<redacted>" ("d") made scrub loop for ever, and
// a password holding the marker's characters could be spelled again by the marker.
TEST_CASE("scrub ends for a password inside its own marker, and no copy of the password is left", "[pg]") {
  CHECK(scrub("password authentication failed for user d", "d") == "passwor*** authentication faile*** for user ***");
  CHECK(scrub("user <redacted> failed", "<redacted>") == "user *** failed");
  CHECK(scrub("tried d>x, then d>xx", "d>x") == "tried ***, then ***x");
  CHECK(scrub("password=hunter2<r and more", "2<r") == "password=<redacted> and more");
  CHECK(scrub("user e failed: password=x", "e") == "us***r *** fail***d: password=<r***dact***d>");
}

// Found by tests/fuzz/scrub.cpp: std::regex's matcher recursed once per character and a long value
// after "password = '" (an error quoting a migration's SQL, say) overflowed the stack.
TEST_CASE("scrub takes values of any length without running out of stack", "[pg]") {
  const std::string long_value(200000, 'x');
  CHECK(scrub("password = '" + long_value) == "password = <redacted>");
  CHECK(scrub("password='" + long_value + "' next") == "password=<redacted> next");
  CHECK(scrub("postgresql://app:" + long_value + "@db/x") == "postgresql://app:<redacted>@db/x");
  CHECK(scrub("postgres://" + long_value + " PASSWORD =\tp\\'q") ==
        "postgres://" + long_value + " PASSWORD =\t<redacted>");
}

// Found by the fuzz target in CI's fuzz step: a setting whose value is the next setting's key.
TEST_CASE("scrub hides a password whose setting follows one that has the word password as its value", "[pg]") {
  CHECK(scrub("x password=  PASSWORD = s3cret y") == "x password=  PASSWORD = <redacted> y");
  CHECK(scrub("password=password=s3cret") == "password=password=<redacted>");
}
