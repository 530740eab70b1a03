// apps/migrate/main.cpp: the process is not dumpable, so another process of the same user cannot
// read its environment (DB_ENCRYPTION_KEY) or memory, nor attach to it, and it leaves no core dump.
#include <pwd.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "support/process.hpp"
#include "support/terminal.hpp"

namespace {

const std::string planted_key = "dumpable-test-key-0123456789abcd";

// `argv` run as an ordinary user: as postgres when this test runs as root (root may read any
// process's environment, so the test must not), else as ourselves.
std::vector<std::string> as_user(std::vector<std::string> argv) {
  if (::geteuid() != 0) return argv;
  if (::getpwnam("postgres") == nullptr) FAIL("this test runs as root and needs a user named postgres to drop to");
  std::vector<std::string> wrapped = {"/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

// What another process of that user gets reading /proc/PID/environ.
support::ProcessResult read_environ(pid_t pid) {
  return support::run(as_user({"/bin/cat", "/proc/" + std::to_string(pid) + "/environ"}));
}

}  // namespace

TEST_CASE("migrate: another process of its user cannot read its environment, where the key is (PR_SET_DUMPABLE)",
          "[integration][security]") {
  const std::map<std::string, std::string> env = {{"DB_ENCRYPTION_KEY", planted_key}};

  // The check works: a process of the same user that stays dumpable (a shell waiting, as migrate
  // waits below) has its environment read, the key with it.
  {
    support::Terminal shell(as_user({"/bin/sh", "-c", "printf 'Password: '; read line"}), env);
    shell.wait_for_text("Password: ");
    const auto read = read_environ(shell.pid());
    CHECK(read.exit_code == 0);
    CHECK(read.out.find("DB_ENCRYPTION_KEY=" + planted_key) != std::string::npos);
    shell.type("\n");
    CHECK(shell.wait() == 0);
  }

  // migrate, waiting for a password at the terminal with the key in its environment.
  support::Terminal migrate(as_user({MIGRATE_BINARY, "encrypt"}), env);
  migrate.wait_for_text("Password: ");
  const auto read = read_environ(migrate.pid());
  INFO(read.err);  // not the output: on a failure it would be the environment, the key in it
  CHECK(read.exit_code != 0);
  CHECK_THAT(read.err, Catch::Contains("Permission denied"));
  CHECK(read.all().find(planted_key) == std::string::npos);
  migrate.type("typed-password\n");
  CHECK(migrate.wait() == 0);
  CHECK(migrate.shown().find(planted_key) == std::string::npos);
}
