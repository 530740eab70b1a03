#include <catch2/catch.hpp>

#include "migrate/migrations/statement_split.hpp"

using migrate::migrations::split_statements;

TEST_CASE("statements split on semicolons outside quotes, dollar quotes and comments", "[migrations]") {
  const auto statements = split_statements(
      "CREATE INDEX CONCURRENTLY a ON t (x);\n"
      "-- a comment; with a semicolon\n"
      "INSERT INTO t VALUES ('a;b', E'it\\'s;', \"we;ird\");\n"
      "/* block; /* nested; */ still; */ DO $$ BEGIN PERFORM 1; END $$;\n"
      "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql\n");
  REQUIRE(statements.size() == 4);
  CHECK(statements[0] == "CREATE INDEX CONCURRENTLY a ON t (x);");
  CHECK_THAT(statements[1], Catch::EndsWith("INSERT INTO t VALUES ('a;b', E'it\\'s;', \"we;ird\");"));
  CHECK_THAT(statements[2], Catch::EndsWith("DO $$ BEGIN PERFORM 1; END $$;"));
  CHECK_THAT(statements[3], Catch::EndsWith("$body$ LANGUAGE sql\n"));
}

TEST_CASE("only blanks and comments make no statement", "[migrations]") {
  CHECK(split_statements("  -- nothing\n/* at all */\n;\n").empty());
  CHECK(split_statements("").empty());
}
