#include "migrate/pg/errors.hpp"

#include <pqxx/except>

#include <algorithm>
#include <array>
#include <cctype>
#include <sstream>

#include "migrate/core/interrupt.hpp"
#include "migrate/pg/connection.hpp"

namespace migrate::pg {
namespace {

constexpr std::array transient_states = {
    "08000", "08001", "08003", "08004", "08006",  // connection exceptions
    "53300",                                      // too_many_connections
    "57P01", "57P02", "57P03",                    // admin/crash shutdown, cannot_connect_now
    "40001", "40P01",  // serialization_failure, deadlock_detected, should they come as a plain sql_error
};
constexpr const char* query_canceled = "57014";

constexpr std::array transient_texts = {
    "Connection refused",
    "could not connect",
    "starting up",
    "shutting down",
    "too many clients",
    "too many connections",
    "server closed the connection unexpectedly",
    "Connection reset",
    "timeout expired",
    "no connection to the server",
    "terminating connection",
    "recovery mode",
    "SSL connection has been closed unexpectedly",
    "SSL SYSCALL error",
    "accepting connections",  // "not yet accepting connections" (recovery), "not accepting connections"
    "could not receive data",
    "could not send data",
    "Connection timed out",
    "No route to host",
};

// What stands for a secret in a message: "<redacted>", unless the secret could be read across it and
// the text beside it (a secret with '<' or '>', or one inside "redacted" such as "d"): then three of
// a character the secret does not have, so that no copy is left or made. Empty when the secret
// holds every byte value.
std::string marker_for(std::string_view secret) {
  const std::string usual = "<redacted>";
  if (secret.find_first_of("<>") == std::string_view::npos && usual.find(secret) == std::string::npos) return usual;
  std::string candidates = "*";
  for (int c = 0x21; c < 0x7f; ++c) candidates += static_cast<char>(c);
  for (int c = 1; c < 0x100; ++c) candidates += static_cast<char>(c);
  for (const char c : candidates)
    if (secret.find(c) == std::string_view::npos) return std::string(3, c);
  return {};
}

// Every copy of `secret` in `message` replaced by `marker`, left to right, the search going on after
// each marker (searching from the marker's start never ended when the secret was inside the marker).
void replace_all(std::string& message, std::string_view secret, const std::string& marker) {
  for (auto at = message.find(secret); at != std::string::npos; at = message.find(secret, at + marker.size()))
    message.replace(at, secret.size(), marker);
}

// Whether `text` has `word` (lower case) at `at`, in any case (ASCII).
bool has_any_case(const std::string& text, std::size_t at, std::string_view word) {
  if (at > text.size() || text.size() - at < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != word[i]) return false;
  return true;
}

// Where `word` next starts in `text` at or after `from`, in any case (ASCII), or npos.
std::size_t find_any_case(const std::string& text, std::string_view word, std::size_t from) {
  for (; from + word.size() <= text.size(); ++from)
    if (has_any_case(text, from, word)) return from;
  return std::string::npos;
}

bool is_blank(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// The value of every password setting (password, blanks, '=', blanks, then a quoted value with
// backslash escapes or else a run of non-blanks) and of every URL's password (postgres[ql]://user:
// password@) replaced by <redacted>. Scanned by hand: std::regex's matcher recurses once per
// character, and a long value overflowed the stack.
std::string redact_password_shapes(const std::string& message) {
  std::string out;
  std::size_t copied = 0;
  const auto redact = [&](std::size_t from, std::size_t to, const char* tail) {
    out.append(message, copied, from - copied);
    out += "<redacted>";
    out += tail;
    copied = to;
  };
  for (std::size_t at = find_any_case(message, "password", 0); at != std::string::npos;
       at = find_any_case(message, "password", std::max(at + 1, copied))) {
    std::size_t v = at + 8;
    while (v < message.size() && is_blank(message[v])) ++v;
    if (v >= message.size() || message[v] != '=') continue;
    ++v;
    while (v < message.size() && is_blank(message[v])) ++v;
    // The value is the next setting's key ("password= password=x"): that setting is the one to redact.
    if (has_any_case(message, v, "password")) {
      std::size_t next = v + 8;
      while (next < message.size() && is_blank(message[next])) ++next;
      if (next < message.size() && message[next] == '=') continue;
    }
    std::size_t end = std::string::npos;
    if (v < message.size() && message[v] == '\'') {
      for (std::size_t e = v + 1; e < message.size(); ++e) {
        if (message[e] == '\\' && e + 1 < message.size() && message[e + 1] != '\n') {
          ++e;
        } else if (message[e] == '\'') {
          end = e + 1;
          break;
        } else if (message[e] == '\\') {
          break;
        }
      }
    }
    if (end == std::string::npos) {  // not quoted, or the quote never closes: up to the next blank
      end = v;
      while (end < message.size() && !is_blank(message[end])) ++end;
      if (end == v) continue;
    }
    redact(v, end, "");
  }
  out.append(message, copied, std::string::npos);

  std::string result;
  copied = 0;
  std::swap(out, result);
  const std::string& text = result;
  for (std::size_t at = find_any_case(text, "postgres", 0); at != std::string::npos;
       at = find_any_case(text, "postgres", std::max(at + 1, copied))) {
    std::size_t i = at + 8;
    if (has_any_case(text, i, "ql")) i += 2;
    if (text.compare(i, 3, "://") != 0) continue;
    i += 3;
    while (i < text.size() && text[i] != ':' && text[i] != '/' && text[i] != '@' && !is_blank(text[i])) ++i;
    if (i >= text.size() || text[i] != ':') continue;
    const std::size_t password = i + 1;
    std::size_t e = password;
    while (e < text.size() && text[e] != '@' && !is_blank(text[e])) ++e;
    if (e >= text.size() || text[e] != '@') continue;
    out.append(text, copied, password - copied);
    out += "<redacted>@";
    copied = e + 1;
  }
  out.append(text, copied, std::string::npos);
  return out;
}

bool is_transient_state(const std::string& state) {
  for (const auto* transient : transient_states)
    if (state == transient) return true;
  return false;
}

}  // namespace

bool is_transient_connect_message(std::string_view message) {
  for (const auto* text : transient_texts)
    if (message.find(text) != std::string_view::npos) return true;
  return false;
}

void rethrow_as_error(const Connection* db) {
  try {
    throw;
  } catch (const Error&) {
    throw;
  } catch (const pqxx::in_doubt_error&) {
    throw InDoubtError(
        "the connection broke while committing: the migrations may or may not have been applied; check this "
        "tenant with `migrate status --tenant`");
  } catch (const pqxx::statement_completion_unknown&) {
    throw InDoubtError(
        "the connection broke while a statement ran: it may or may not have taken effect; check this tenant "
        "with `migrate status --tenant`");
  } catch (const pqxx::transaction_rollback& error) {
    // Serialization failure or deadlock: libpqxx 6.4 throws these without an SQLSTATE. The
    // transaction rolled back as a whole, so trying again is safe.
    throw RunError(describe(error), true);
  } catch (const pqxx::broken_connection& error) {
    std::string reason = db ? db->failure_text() : std::string();
    if (reason.empty()) reason = scrub(error.what());
    throw RunError("connection lost: " + reason, true);
  } catch (const pqxx::sql_error& error) {
    if (error.sqlstate() == query_canceled && interrupt::requested())
      throw InterruptedError("interrupted by " + interrupt::signal_name(), interrupt::signal_number());
    throw RunError(describe(error), is_transient_state(error.sqlstate()));
  } catch (const std::exception& error) {
    throw RunError(describe(error));
  }
}

std::string scrub(std::string message, std::string_view secret) {
  const std::string marker = secret.empty() ? std::string() : marker_for(secret);
  if (!secret.empty() && marker.empty()) return "<redacted>";
  if (!secret.empty()) replace_all(message, secret, marker);
  message = redact_password_shapes(message);
  // The "<redacted>" just written may spell the secret with the text beside it: look once more.
  if (!secret.empty()) replace_all(message, secret, marker);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

std::string describe(const std::exception& error) {
  std::istringstream lines(error.what());
  std::string text;
  for (std::string line; std::getline(lines, line);) {
    // libpq starts server errors with "ERROR:  "; the severity adds nothing for an operator.
    for (const char* prefix : {"ERROR:  ", "FATAL:  "})
      if (line.rfind(prefix, 0) == 0) line.erase(0, std::char_traits<char>::length(prefix));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" ^") == std::string::npos) continue;  // blank, or the caret under LINE
    text += (text.empty() ? "" : "\n") + line;
  }
  return scrub(std::move(text));
}

}  // namespace migrate::pg
