#include "migrate/migrations/migration_file.hpp"

#include <openssl/evp.h>

#include <regex>
#include <sstream>

#include "migrate/core/error.hpp"
#include "migrate/core/text.hpp"
#include "migrate/migrations/statement_split.hpp"

namespace migrate::migrations {
namespace {

// A folder may hold knex's names (its migrate:make keeps the name as typed, createUsers or
// add-users), so that the ledger rows of a fleet knex migrated still match; `make` writes snake_case.
const std::regex file_name_form(R"(^(\d{14})_[A-Za-z0-9_-]+\.sql$)");
const std::regex snake_case_form(R"(^(\d{14})_[a-z0-9]+(_[a-z0-9]+)*\.sql$)");
const std::regex directive_form(R"(^--\s*migrate:(\S*)(.*)$)");

struct Directive {
  bool up = false;
  bool transaction = true;
};

// The directive on `line`, if it is one. Throws for an unknown section or option.
std::optional<Directive> read_directive(const std::string& where, std::string_view line) {
  std::smatch match;
  const std::string text(trim(line));
  if (!std::regex_match(text, match, directive_form)) return std::nullopt;
  Directive directive;
  if (match[1] == "up")
    directive.up = true;
  else if (match[1] != "down")
    throw InputError(where + ": unknown directive 'migrate:" + match[1].str() +
                     "' (expected migrate:up or migrate:down)");
  for (const auto& option : split_list(match[2].str(), ' ')) {
    if (option == "transaction:false")
      directive.transaction = false;
    else if (option != "transaction:true")
      throw InputError(where + ": unknown option '" + option + "' (only transaction:false is known)");
  }
  return directive;
}

}  // namespace

bool is_migration_file_name(const std::string& file_name) {
  return std::regex_match(file_name, file_name_form);
}

bool is_snake_case_file_name(const std::string& file_name) {
  return std::regex_match(file_name, snake_case_form);
}

std::string section_checksum(std::string_view sql) {
  std::string text;
  text.reserve(sql.size());
  for (std::size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] != '\r') {
      text += sql[i];
    } else {
      text += '\n';
      if (i + 1 < sql.size() && sql[i + 1] == '\n') ++i;
    }
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  static constexpr char hex_digits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += hex_digits[digest[i] >> 4];
    hex += hex_digits[digest[i] & 0xf];
  }
  return hex;
}

MigrationFile parse_migration(const std::filesystem::path& path, const std::string& text) {
  MigrationFile file;
  file.path = path;
  file.name = path.filename().string();
  file.version = file.name.substr(0, 14);

  std::optional<Section> up;
  std::optional<Section> down;
  Section* current = nullptr;
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    const std::string where = path.string() + ":" + std::to_string(number);
    if (const auto directive = read_directive(where, line)) {
      auto& slot = directive->up ? up : down;
      if (slot)
        throw InputError(where + ": a second migrate:" + (directive->up ? "up" : "down") +
                         " section (the first is at line " + std::to_string(slot->first_line) + ")");
      slot = Section{"", directive->transaction, number};
      current = &*slot;
      continue;
    }
    if (current == nullptr) {
      const auto content = trim(line);
      if (!content.empty() && content.rfind("--", 0) != 0)
        throw InputError(where + ": text before the first section; start the file with '-- migrate:up'");
      continue;
    }
    current->sql += line;
    current->sql += '\n';
  }
  if (!up) throw InputError(path.string() + ":1: no '-- migrate:up' section");
  if (split_statements(up->sql).empty())
    throw InputError(path.string() + ":" + std::to_string(up->first_line) + ": the up section is empty");
  file.up = std::move(*up);
  file.checksum = section_checksum(file.up.sql);
  if (down && !split_statements(down->sql).empty()) file.down = std::move(*down);
  return file;
}

}  // namespace migrate::migrations
