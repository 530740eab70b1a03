#pragma once
// Parses the command line, runs one subcommand, maps every error to its exit status.
#include "migrate/crypto/stored_password.hpp"

namespace migrate::cli {

// 0 success, 1 a migration or tenant failed, 2 usage/configuration/input error.
int run(int argc, char** argv);

// `migrate encrypt`: one password from standard input to stdout, encrypted under DB_ENCRYPTION_KEY
// in `format`.
int encrypt_command(crypto::Format format);

}  // namespace migrate::cli
