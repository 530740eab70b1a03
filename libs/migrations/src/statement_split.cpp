#include "migrate/migrations/statement_split.hpp"

#include <algorithm>
#include <cctype>

namespace migrate::migrations {
namespace {

// The dollar-quote tag starting at `at` ("$$" or "$name$"), or empty when there is none.
std::string_view dollar_tag(std::string_view sql, std::size_t at) {
  std::size_t end = at + 1;
  while (end < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[end])) || sql[end] == '_')) ++end;
  if (end < sql.size() && sql[end] == '$' && !std::isdigit(static_cast<unsigned char>(sql[at + 1])))
    return sql.substr(at, end - at + 1);
  return {};
}

}  // namespace

std::vector<Statement> split_statements(std::string_view sql) {
  std::vector<Statement> statements;
  Statement current;  // empty text: no code yet since the last ';'
  auto finish = [&] {
    if (!current.text.empty()) statements.push_back(std::move(current));
    current = {};
  };

  int line = 1;  // the line sql[i] is on
  std::size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    const char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
    std::size_t end = i + 1;  // one past the token that starts at i
    bool code = true;
    if (c == '-' && next == '-') {
      end = sql.find('\n', i);
      end = end == std::string_view::npos ? sql.size() : end;
      code = false;
    } else if (c == '/' && next == '*') {
      int depth = 1;
      end = i + 2;
      while (end < sql.size() && depth > 0) {
        if (sql.compare(end, 2, "/*") == 0)
          ++depth, end += 2;
        else if (sql.compare(end, 2, "*/") == 0)
          --depth, end += 2;
        else
          ++end;
      }
      code = false;
    } else if (c == '\'' || c == '"') {
      const bool backslash_escapes = c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e');
      end = i + 1;
      while (end < sql.size()) {
        if (backslash_escapes && sql[end] == '\\') {
          end += 2;
          continue;
        }
        if (sql[end] == c) {
          if (end + 1 < sql.size() && sql[end + 1] == c) {
            end += 2;
            continue;
          }  // doubled quote
          ++end;
          break;
        }
        ++end;
      }
    } else if (c == '$') {
      if (const auto tag = dollar_tag(sql, i); !tag.empty()) {
        const auto close = sql.find(tag, i + tag.size());
        end = close == std::string_view::npos ? sql.size() : close + tag.size();
      }
    } else if (c == ';') {
      if (!current.text.empty()) current.text += c;
      finish();
      i = end;
      continue;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      code = false;
    }
    end = std::min(end, sql.size());
    const auto token = sql.substr(i, end - i);
    if (code && current.text.empty()) current.line = line;
    if (code || !current.text.empty()) current.text.append(token);
    line += static_cast<int>(std::count(token.begin(), token.end(), '\n'));
    i = end;
  }
  finish();
  return statements;
}

}  // namespace migrate::migrations
