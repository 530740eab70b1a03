#pragma once
// `migrate rotate-key`: every tenant password re-encrypted under DB_ENCRYPTION_KEY, in the
// knexfile's encryption.format, so that the keys in DB_ENCRYPTION_KEY_PREVIOUS can be retired.
#include "migrate/config/settings.hpp"
#include "migrate/runner/reporter.hpp"

namespace migrate::runner {

// Reads every row of the tenants table (every status) in one central transaction, its rows locked
// FOR UPDATE (not with `dry_run`), and decrypts every password with the key ring first. When any
// does not decrypt, each such tenant is reported with the reason and nothing changes (exit 1).
// Otherwise each row is updated by id with its password sealed under the current key (updated_at =
// now()) and the transaction commits: all rows or none. The counts (tenants under the current and
// each previous key, format before -> after, re-encrypted) are reported either way; `dry_run`
// reports them and changes nothing. InputError (exit 2, nothing changed) for a key ring, central
// connection or tenants table that cannot be used. No password or key reaches the output.
int rotate_key(const config::Settings& settings, bool dry_run, Reporter& reporter);

}  // namespace migrate::runner
