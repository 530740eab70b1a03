#include "migrate/runner/tenant_job.hpp"

#include <pqxx/except>

#include <thread>

#include "migrate/core/error.hpp"
#include "migrate/crypto/password_cipher.hpp"
#include "migrate/ledger/ledger_lock.hpp"
#include "migrate/pg/errors.hpp"
#include "migrate/runner/engine.hpp"
#include "migrate/runner/retry.hpp"

namespace migrate::runner {
namespace {

using Clock = std::chrono::steady_clock;

struct Failure {
  std::string reason;
  bool retry = false;
};

// The reason and retry decision for an exception out of one attempt.
Failure classify(const std::exception& error) {
  if (dynamic_cast<const crypto::DecryptError*>(&error))
    return {std::string("cannot decrypt db_password_encrypted: ") + error.what()};
  if (dynamic_cast<const MigrationError*>(&error)) return {error.what()};
  if (dynamic_cast<const ledger::KnexLockHeld*>(&error)) return {error.what(), true};
  if (dynamic_cast<const ledger::BusyError*>(&error)) return {error.what()};
  if (dynamic_cast<const pqxx::in_doubt_error*>(&error))
    return {
        "the connection broke while committing: the migration may or may not have been applied; check this "
        "tenant with `migrate status --tenant`"};
  return {pg::describe(error), pg::is_transient(error)};
}

}  // namespace

TenantOutcome run_tenant(const registry::TenantRecord& tenant, const TenantAccess& access, const TenantWork& work) {
  const auto start = Clock::now();
  TenantOutcome outcome;
  outcome.slug = tenant.slug;
  const auto& policy = access.settings.retry;
  const pg::ConnectOptions connect_options{access.settings.connect_timeout};
  for (int attempt = 1;; ++attempt) {
    outcome.attempts = attempt;
    Failure failure;
    try {
      pg::Connection db(tenant.database, crypto::decrypt_password(tenant.password_encrypted, access.key),
                        connect_options);
      work(db, outcome);
      break;
    } catch (const InputError&) {
      throw;
    } catch (const std::exception& error) {
      failure = classify(error);
    }
    outcome.steps.clear();
    if (!failure.retry || attempt >= policy.attempts) {
      outcome.state = TenantState::failed;
      outcome.reason = failure.reason;
      if (failure.retry) outcome.reason += " (gave up after " + std::to_string(attempt) + " attempts)";
      break;
    }
    const auto delay = backoff_delay(policy, attempt);
    access.reporter.retrying(tenant.slug, attempt, delay, failure.reason);
    std::this_thread::sleep_for(delay);
  }
  outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return outcome;
}

}  // namespace migrate::runner
