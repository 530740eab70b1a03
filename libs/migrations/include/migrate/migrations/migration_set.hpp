#pragma once
// The migrations folder, read and checked once per run before any database is touched.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "migrate/migrations/migration_file.hpp"

namespace migrate::migrations {

class MigrationSet {
 public:
  // Reads every *.sql file in `directory`, in name order. Throws InputError naming the file (and
  // line) for a name not of the required form, two files with the same timestamp, or a file
  // parse_migration() refuses; and naming the folder when it does not exist. Other files
  // (README.md, .gitkeep) are ignored.
  // `legacy_extensions` (".js", ...): ledger rows recorded under another extension, as knex records
  // JavaScript migrations, that find() matches to the .sql file of the same base name.
  static MigrationSet load(const std::filesystem::path& directory,
                           std::vector<std::string> legacy_extensions = {".js", ".ts", ".cjs", ".mjs"});

  const std::vector<MigrationFile>& files() const { return files_; }
  // The file recorded under `name` in a ledger, or nullptr when it is not in the folder. A name with
  // a legacy extension ("X.js") finds "X.sql".
  const MigrationFile* find(const std::string& name) const;
  // Whether a ledger row named `name` was recorded under a legacy extension (by knex).
  bool is_legacy_name(const std::string& name) const;
  const std::filesystem::path& directory() const { return directory_; }

 private:
  std::filesystem::path directory_;
  std::vector<MigrationFile> files_;
  std::map<std::string, std::size_t> by_name_;
  std::vector<std::string> legacy_extensions_;
};

}  // namespace migrate::migrations
