#include "migrate/pg/errors.hpp"

#include <pqxx/except>

#include <array>
#include <regex>

namespace migrate::pg {
namespace {

constexpr std::array transient_states = {
    "08000", "08001", "08003", "08004", "08006",  // connection exceptions
    "53300",                                      // too_many_connections
    "57P01", "57P02", "57P03",                    // admin/crash shutdown, cannot_connect_now
    "40001", "40P01",                             // serialization_failure, deadlock_detected
};

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
    "could not receive data",
    "could not send data",
    "Connection timed out",
    "No route to host",
};

}  // namespace

bool is_transient_connect_message(std::string_view message) {
  for (const auto* text : transient_texts)
    if (message.find(text) != std::string_view::npos) return true;
  return false;
}

bool is_transient(const std::exception& error) {
  if (dynamic_cast<const pqxx::in_doubt_error*>(&error)) return false;
  if (const auto* connect = dynamic_cast<const ConnectError*>(&error)) return connect->transient();
  if (dynamic_cast<const pqxx::transaction_rollback*>(&error)) return true;  // serialization, deadlock
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
    for (const auto* state : transient_states)
      if (sql->sqlstate() == state) return true;
    return false;
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&error)) return is_transient_connect_message(error.what());
  return false;
}

std::string scrub(std::string message, std::string_view secret) {
  if (!secret.empty()) {
    for (auto at = message.find(secret); at != std::string::npos; at = message.find(secret, at))
      message.replace(at, secret.size(), "<redacted>");
  }
  static const std::regex password_setting(R"((password\s*=\s*)('([^'\\]|\\.)*'|\S+))", std::regex::icase);
  static const std::regex url_credentials(R"((postgres(ql)?://[^:/@\s]*:)[^@\s]*@)", std::regex::icase);
  message = std::regex_replace(message, password_setting, "$1<redacted>");
  message = std::regex_replace(message, url_credentials, "$1<redacted>@");
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

std::string describe(const std::exception& error) {
  std::string text = error.what();
  // libpq starts server errors with "ERROR:  "; the severity adds nothing for an operator.
  for (const char* prefix : {"ERROR:  ", "FATAL:  "})
    if (text.rfind(prefix, 0) == 0) text.erase(0, std::char_traits<char>::length(prefix));
  return scrub(std::move(text));
}

}  // namespace migrate::pg
