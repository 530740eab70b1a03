// migrate: keeps a fleet of database-per-tenant PostgreSQL databases on one schema.
#include <sys/prctl.h>

#include "cli.hpp"

int main(int argc, char** argv) {
  // Before anything holds a secret: no core dump of DB_ENCRYPTION_KEY or a tenant password, and no
  // other process of the same user may ptrace this one or read its /proc/PID/environ or mem.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  return migrate::cli::run(argc, argv);
}
