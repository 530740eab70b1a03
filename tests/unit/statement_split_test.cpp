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
  CHECK(statements[0].text == "CREATE INDEX CONCURRENTLY a ON t (x);");
  CHECK(statements[1].text == "INSERT INTO t VALUES ('a;b', E'it\\'s;', \"we;ird\");");
  CHECK(statements[2].text == "DO $$ BEGIN PERFORM 1; END $$;");
  CHECK(statements[3].text == "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql\n");
}

TEST_CASE("each statement starts at its first token, on its line, past blank lines and comments", "[migrations]") {
  const auto statements = split_statements(
      "CREATE TABLE a (id int);\n"     // 1
      "\n"                             // 2
      "-- the index; for search\n"     // 3
      "CREATE INDEX CONCURRENTLY i\n"  // 4
      "  ON a (id);  /* a block\n"     // 5
      "   comment; */ SELECT 1;\n"     // 6
      "\n"                             // 7
      "  SELECT 2 -- no semicolon\n"   // 8
      "-- trailing comment\n");        // 9
  REQUIRE(statements.size() == 4);
  CHECK(statements[0].line == 1);
  CHECK(statements[0].text == "CREATE TABLE a (id int);");
  CHECK(statements[1].line == 4);
  CHECK(statements[1].text == "CREATE INDEX CONCURRENTLY i\n  ON a (id);");
  CHECK(statements[2].line == 6);
  CHECK(statements[2].text == "SELECT 1;");
  CHECK(statements[3].line == 8);
  CHECK(statements[3].text == "SELECT 2 -- no semicolon\n-- trailing comment\n");
}

TEST_CASE("lines count the newlines inside dollar quotes, strings, quoted names and comments", "[migrations]") {
  const auto statements = split_statements(
      "DO $$\n"                                       // 1
      "BEGIN\n"                                       // 2
      "  PERFORM 1;\n"                                // 3
      "END $$;\n"                                     // 4
      "CREATE FUNCTION f() RETURNS text AS $body$\n"  // 5
      "  SELECT ';\n"                                 // 6
      "  '::text\n"                                   // 7
      "$body$ LANGUAGE sql; SELECT 'a\n"              // 8
      "b', \"odd\n"                                   // 9
      "name\";\n"                                     // 10
      "/* one\n"                                      // 11
      "   two /* nested\n"                            // 12
      "   */ three */\n"                              // 13
      "SELECT E'\\'\n"                                // 14
      "';\n"                                          // 15
      "SELECT 3;");                                   // 16
  REQUIRE(statements.size() == 5);
  CHECK(statements[0].line == 1);
  CHECK(statements[0].text == "DO $$\nBEGIN\n  PERFORM 1;\nEND $$;");
  CHECK(statements[1].line == 5);
  CHECK_THAT(statements[1].text, Catch::StartsWith("CREATE FUNCTION") && Catch::EndsWith("$body$ LANGUAGE sql;"));
  CHECK(statements[2].line == 8);
  CHECK(statements[2].text == "SELECT 'a\nb', \"odd\nname\";");
  CHECK(statements[3].line == 14);
  CHECK(statements[3].text == "SELECT E'\\'\n';");
  CHECK(statements[4].line == 16);
  CHECK(statements[4].text == "SELECT 3;");
}

TEST_CASE("only blanks and comments make no statement", "[migrations]") {
  CHECK(split_statements("  -- nothing\n/* at all */\n;\n").empty());
  CHECK(split_statements("").empty());
}
