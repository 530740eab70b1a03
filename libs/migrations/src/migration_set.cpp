#include "migrate/migrations/migration_set.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "migrate/core/error.hpp"

namespace migrate::migrations {

MigrationSet MigrationSet::load(const std::filesystem::path& directory, std::vector<std::string> legacy_extensions) {
  std::error_code error;
  if (!std::filesystem::is_directory(directory, error))
    throw InputError(directory.string() + ": no such migrations folder (set migrations.directory in knexfile.yaml)");

  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.is_regular_file() && entry.path().extension() == ".sql") paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());

  MigrationSet set;
  set.directory_ = directory;
  set.legacy_extensions_ = std::move(legacy_extensions);
  for (const auto& path : paths) {
    const auto name = path.filename().string();
    if (!is_migration_file_name(name))
      throw InputError(path.string() +
                       ": the name must be YYYYMMDDHHMMSS_name.sql (a 14-digit UTC timestamp, _, then letters, digits, _ "
                       "and -)");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path.string() + ": cannot read the file");
    std::ostringstream text;
    text << in.rdbuf();
    auto file = parse_migration(path, text.str());
    if (!set.files_.empty() && set.files_.back().version == file.version)
      throw InputError(path.string() + ": the timestamp " + file.version + " is also used by " +
                       set.files_.back().name + "; give each migration its own timestamp");
    set.by_name_[file.name] = set.files_.size();
    set.files_.push_back(std::move(file));
  }
  return set;
}

bool MigrationSet::is_legacy_name(const std::string& name) const {
  return std::any_of(legacy_extensions_.begin(), legacy_extensions_.end(),
                     [&](const std::string& extension) { return name.ends_with(extension); });
}

const MigrationFile* MigrationSet::find(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end() && is_legacy_name(name)) {
    const auto dot = name.rfind('.');
    it = by_name_.find(name.substr(0, dot) + ".sql");
  }
  return it == by_name_.end() ? nullptr : &files_[it->second];
}

}  // namespace migrate::migrations
