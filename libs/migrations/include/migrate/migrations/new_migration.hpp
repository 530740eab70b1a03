#pragma once
// `migrate make NAME`.
#include <chrono>
#include <filesystem>
#include <string>

namespace migrate::migrations {

// Writes `directory`/YYYYMMDDHHMMSS_`name`.sql (UTC `now`) with both sections and a short
// template; returns its path. Throws InputError when `name` is not lowercase snake_case or the
// file exists already.
std::filesystem::path write_new_migration(const std::filesystem::path& directory, const std::string& name,
                                          std::chrono::system_clock::time_point now);

}  // namespace migrate::migrations
