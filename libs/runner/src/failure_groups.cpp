#include "migrate/runner/failure_groups.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <utility>

namespace migrate::runner {
namespace {

bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

// Every copy of `value` in `text` that stands as a whole word replaced by `placeholder`.
void replace_word(std::string& text, const std::string& value, const std::string& placeholder) {
  if (value.empty()) return;
  for (auto at = text.find(value); at != std::string::npos; at = text.find(value, at)) {
    const auto end = at + value.size();
    const bool whole = (at == 0 || !is_word_char(text[at - 1])) && (end == text.size() || !is_word_char(text[end]));
    const bool placeholder_of_ours = at > 0 && text[at - 1] == '<' && end < text.size() && text[end] == '>';
    if (!whole || placeholder_of_ours) {
      ++at;
      continue;
    }
    text.replace(at, value.size(), placeholder);
    at += placeholder.size();
  }
}

// libpq names a server `"host" (address)`: the address varies with the host (and is the host
// itself when that is an address), drop it.
void drop_address_after_host(std::string& text) {
  const std::string host = "\"<host>\" (";
  for (auto at = text.find(host); at != std::string::npos; at = text.find(host, at + 1)) {
    const auto open = at + host.size() - 1;
    const auto close = text.find(')', open);
    if (close == std::string::npos) return;
    const auto inside = std::string_view(text).substr(open + 1, close - open - 1);
    const bool address =
        inside == "<host>" || (!inside.empty() && std::all_of(inside.begin(), inside.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == '.' || c == ':';
        }));
    if (address) text.erase(open - 1, close - open + 2);  // with the blank before it
  }
}

// The digits after each `word ` (a pid, a process number) replaced by `<pid>`.
void replace_number_after(std::string& text, const std::string& word) {
  for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    if (at > 0 && is_word_char(text[at - 1])) continue;
    const auto digits = at + word.size();
    auto end = digits;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    if (end == digits || (end < text.size() && is_word_char(text[end]))) continue;
    text.replace(digits, end - digits, "<pid>");
  }
}

}  // namespace

std::string reason_without_tenant(const std::string& reason, const registry::TenantRecord& tenant) {
  std::vector<std::pair<std::string, std::string>> own = {{tenant.database.dbname, "<db>"},
                                                          {tenant.database.user, "<user>"},
                                                          {tenant.database.host, "<host>"},
                                                          {tenant.slug, "<tenant>"},
                                                          {tenant.id, "<id>"}};
  // The longest first: a database name often holds the slug.
  std::stable_sort(own.begin(), own.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  std::string text = reason;
  for (const auto& [value, placeholder] : own) {
    // A serial id (7) or a two-letter name is as likely a count or a word of the message ("gave up
    // after 5 attempts", "and 7 more"): replaced, it would split one reason into several groups.
    const bool digits =
        std::all_of(value.begin(), value.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (value.size() < 3 || digits) continue;
    replace_word(text, value, placeholder);
  }
  drop_address_after_host(text);
  const auto port = std::to_string(tenant.database.port);
  replace_word(text, "port " + port, "port <port>");
  replace_word(text, "<host>:" + port, "<host>:<port>");  // as pg::Endpoint::describe() writes it
  for (const char* word : {"pid ", "PID ", "process ", "Process "}) replace_number_after(text, word);
  return text;
}

void FailureGrouper::add(const std::string& slug, const std::string& reason, const registry::TenantRecord& tenant) {
  auto key = reason_without_tenant(reason, tenant);
  const auto [found, added] = by_key_.try_emplace(key, entries_.size());
  if (added) {
    entries_.push_back({{reason, {}}, std::move(key), false});
  } else if (entries_[found->second].group.reason != reason) {
    entries_[found->second].varied = true;
  }
  entries_[found->second].group.tenants.push_back(slug);
}

std::vector<FailureGroup> FailureGrouper::groups() const {
  std::vector<FailureGroup> groups;
  groups.reserve(entries_.size());
  for (const auto& entry : entries_) {
    groups.push_back(entry.group);
    if (entry.varied) groups.back().reason = entry.key;
    std::sort(groups.back().tenants.begin(), groups.back().tenants.end());  // finish order says nothing
  }
  std::stable_sort(groups.begin(), groups.end(),
                   [](const auto& a, const auto& b) { return a.tenants.size() > b.tenants.size(); });
  return groups;
}

}  // namespace migrate::runner
