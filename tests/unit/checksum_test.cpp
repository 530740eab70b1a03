// The checksum recorded for each applied migration: its up section, line endings normalised.
#include <catch2/catch.hpp>

#include "migrate/migrations/migration_file.hpp"

using migrate::migrations::parse_migration;
using migrate::migrations::section_checksum;

TEST_CASE("section_checksum is the hex SHA-256 of the text", "[checksum]") {
  CHECK(section_checksum("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(section_checksum("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("section_checksum reads CRLF and CR line endings as LF", "[checksum]") {
  const auto lf = section_checksum("CREATE TABLE t (id int);\nSELECT 1;\n");
  CHECK(section_checksum("CREATE TABLE t (id int);\r\nSELECT 1;\r\n") == lf);
  CHECK(section_checksum("CREATE TABLE t (id int);\rSELECT 1;\r") == lf);
  CHECK(section_checksum("CREATE TABLE t (id int);\n\nSELECT 1;\n") != lf);  // a blank line is an edit
}

TEST_CASE(
    "the checksum of a migration is that of its up section: a file saved with CRLF or a down section edited keeps it",
    "[checksum]") {
  const auto file = parse_migration("20250101000001_a.sql",
                                    "-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n");
  CHECK(file.checksum == section_checksum("CREATE TABLE a (id int);\n"));
  const auto crlf = parse_migration(
      "20250101000001_a.sql", "-- migrate:up\r\nCREATE TABLE a (id int);\r\n-- migrate:down\r\nDROP TABLE a;\r\n");
  CHECK(crlf.checksum == file.checksum);
  const auto down_edited = parse_migration(
      "20250101000001_a.sql", "-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE IF EXISTS a;\n");
  CHECK(down_edited.checksum == file.checksum);
  const auto up_edited = parse_migration("20250101000001_a.sql", "-- migrate:up\nCREATE TABLE a (id bigint);\n");
  CHECK(up_edited.checksum != file.checksum);
}
