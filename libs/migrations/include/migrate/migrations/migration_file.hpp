#pragma once
// One migration file: YYYYMMDDHHMMSS_name.sql with dbmate's sections.
//   -- migrate:up [transaction:false]
//   ...SQL...
//   -- migrate:down [transaction:false]
//   ...SQL...
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace migrate::migrations {

struct Section {
  std::string sql;          // sent to the server as one multi-statement text
  bool transaction = true;  // false: "transaction:false", run outside any transaction
  int first_line = 0;       // line number of the directive in the file
};

struct MigrationFile {
  std::string name;     // file name with ".sql": what the ledger records
  std::string version;  // the 14-digit timestamp
  std::filesystem::path path;
  Section up;
  std::optional<Section> down;  // absent when the file has no (or an empty) down section
  // section_checksum() of the up section: what was applied. An edit of the down section later is
  // normal (a fix to a rollback) and does not change it.
  std::string checksum;
};

// The hex SHA-256 of `sql` with its line endings (CRLF, CR) made LF, so that a checkout on
// Windows or an editor's line endings never count as an edit.
std::string section_checksum(std::string_view sql);

// True when `file_name` is of the form YYYYMMDDHHMMSS_name.sql, the name of letters, digits, _ and -
// (knex's names too).
bool is_migration_file_name(const std::string& file_name);

// True when `file_name` is YYYYMMDDHHMMSS_snake_case_name.sql, the form `migrate make` writes.
bool is_snake_case_file_name(const std::string& file_name);

// Parses `text` as the migration file `path`. Throws InputError "path:line: what" for text before
// the first section, an unknown directive option, no up section, or two up (or down) sections.
MigrationFile parse_migration(const std::filesystem::path& path, const std::string& text);

}  // namespace migrate::migrations
