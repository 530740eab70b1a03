#include "migrate/runner/tenant_job.hpp"

#include "migrate/core/error.hpp"
#include "migrate/core/interrupt.hpp"
#include "migrate/crypto/stored_password.hpp"
#include "migrate/pg/errors.hpp"
#include "migrate/runner/lock_timeout.hpp"
#include "migrate/runner/retry.hpp"
#include "migrate/runner/rotate_password.hpp"

namespace migrate::runner {
namespace {

using Clock = std::chrono::steady_clock;

// One attempt: decrypt, connect, work. Every failure leaves as a migrate::Error.
void attempt(const registry::TenantRecord& tenant, const TenantAccess& access, const TenantWork& work,
             TenantOutcome& outcome) {
  crypto::Secret password;
  try {
    password = crypto::decrypt_password(tenant.password_encrypted, access.key);
  } catch (const crypto::DecryptError& error) {
    throw RunError(std::string("cannot decrypt db_password_encrypted: ") + error.what());
  }
  pg::Connection db(pg::Target::of(tenant.database), {access.settings.connect_timeout}, std::move(password));
  try {
    work(db, outcome);
  } catch (const LockTimeoutError& error) {
    throw with_blockers(db, error);  // its transaction is over: the connection can ask who held the lock
  } catch (...) {
    pg::rethrow_as_error(&db);
  }
}

}  // namespace

TenantOutcome run_tenant(const registry::TenantRecord& tenant, const TenantAccess& access, const TenantWork& work) {
  const auto start = Clock::now();
  TenantOutcome outcome;
  outcome.slug = tenant.label();
  const auto& policy = access.settings.retry;
  auto finish = [&](TenantState state, std::string reason) {
    outcome.state = state;
    outcome.reason = std::move(reason);
    outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    return outcome;
  };
  if (!tenant.problem.empty()) return finish(TenantState::failed, tenant.problem);

  for (int attempt_number = 1;; ++attempt_number) {
    outcome.attempts = attempt_number;
    if (interrupt::requested()) return finish(TenantState::interrupted, "interrupted by " + interrupt::signal_name());
    try {
      attempt(tenant, access, work, outcome);
      return finish(outcome.state, {});
    } catch (const InputError&) {
      throw;
    } catch (const InterruptedError& error) {
      return finish(TenantState::interrupted, error.what());
    } catch (const Error& error) {
      if (!error.transient() || attempt_number >= policy.attempts) {
        std::string reason = error.what();
        if (error.transient())
          reason +=
              " (gave up after " + std::to_string(attempt_number) + (attempt_number == 1 ? " attempt)" : " attempts)");
        reason += interrupted_rotation_note(tenant, access.settings, error);
        return finish(TenantState::failed, reason);
      }
      const auto delay = backoff_delay(policy, attempt_number);
      access.reporter.retrying(outcome.slug, attempt_number, delay, error.what());
      if (!interrupt::sleep_for(delay))
        return finish(TenantState::interrupted, "interrupted by " + interrupt::signal_name());
    }
  }
}

}  // namespace migrate::runner
