#include "migrate/pg/errors.hpp"

#include <pqxx/except>

#include <array>
#include <regex>
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
  static const std::regex password_setting(R"((password\s*=\s*)('([^'\\]|\\.)*'|\S+))", std::regex::icase);
  static const std::regex url_credentials(R"((postgres(ql)?://[^:/@\s]*:)[^@\s]*@)", std::regex::icase);
  message = std::regex_replace(message, password_setting, "$1<redacted>");
  message = std::regex_replace(message, url_credentials, "$1<redacted>@");
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
