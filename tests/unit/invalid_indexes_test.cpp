#include <catch2/catch.hpp>

#include "migrate/runner/invalid_indexes.hpp"

using migrate::runner::invalid_index_advice;
using migrate::runner::mentions_name;

TEST_CASE("an index name is found in the text of a section whatever the case of its letters", "[runner]") {
  const std::string sql = "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS Users_Email_Key ON users (email);";
  CHECK(mentions_name(sql, "users_email_key"));
  CHECK(mentions_name(sql, "USERS_EMAIL_KEY"));
  CHECK(mentions_name("DROP INDEX CONCURRENTLY \"public\".\"Mixed Case\";", "mixed case"));
  CHECK_FALSE(mentions_name(sql, "users_email_idx"));
  CHECK_FALSE(mentions_name(sql, ""));
}

TEST_CASE("the search for an index name is plain text: inside a longer word or a comment it counts too", "[runner]") {
  CHECK(mentions_name("CREATE INDEX CONCURRENTLY users_email_key_old ON users (email);", "users_email_key"));
  CHECK(mentions_name("-- replaces users_email_key\nCREATE INDEX CONCURRENTLY x ON users (email);", "users_email_key"));
  CHECK(mentions_name("SELECT 'users_email_key';", "users_email_key"));
  // An index named by PostgreSQL (no name in the text) is not found.
  CHECK_FALSE(mentions_name("CREATE INDEX CONCURRENTLY ON users (email);", "users_email_idx"));
}

TEST_CASE("the advice names each invalid index schema-qualified and gives the statements that drop them", "[runner]") {
  CHECK(invalid_index_advice({{"public", "users_email_key"}}) ==
        "invalid index \"public\".\"users_email_key\" (a failed CREATE INDEX CONCURRENTLY leaves one, and IF NOT "
        "EXISTS then skips it): run DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"users_email_key\"; then run again");
  CHECK(invalid_index_advice({{"app", "a"}, {"app", "odd\"name"}}) ==
        "invalid indexes \"app\".\"a\", \"app\".\"odd\"\"name\" (a failed CREATE INDEX CONCURRENTLY leaves one, and "
        "IF NOT EXISTS then skips it): run DROP INDEX CONCURRENTLY IF EXISTS \"app\".\"a\"; DROP INDEX CONCURRENTLY "
        "IF EXISTS \"app\".\"odd\"\"name\"; then run again");
}
