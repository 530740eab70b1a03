// migrate: keeps a fleet of database-per-tenant PostgreSQL databases on one schema.
#include "cli.hpp"

int main(int argc, char** argv) {
  return migrate::cli::run(argc, argv);
}
