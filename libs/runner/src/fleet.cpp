#include "migrate/runner/fleet.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "migrate/core/error.hpp"
#include "migrate/core/interrupt.hpp"
#include "migrate/pg/errors.hpp"
#include "migrate/runner/failure_groups.hpp"

namespace migrate::runner {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t not_started_names_kept = 200;

// A bounded hand-over from the tenant reader to the workers, so memory does not grow with the fleet.
class TenantQueue {
 public:
  explicit TenantQueue(std::size_t capacity) : capacity_(capacity) {}

  void push(registry::TenantRecord tenant) {
    std::unique_lock lock(mutex_);
    has_room_.wait(lock, [&] { return queue_.size() < capacity_; });
    queue_.push_back(std::move(tenant));
    has_work_.notify_one();
  }
  std::optional<registry::TenantRecord> pop() {
    std::unique_lock lock(mutex_);
    has_work_.wait(lock, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return std::nullopt;
    auto tenant = std::move(queue_.front());
    queue_.pop_front();
    has_room_.notify_one();
    return tenant;
  }
  // No more tenants will come; workers drain what is queued.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    has_work_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable has_work_;
  std::condition_variable has_room_;
  std::deque<registry::TenantRecord> queue_;
  std::size_t capacity_;
  bool closed_ = false;
};

// At most `cap` tenants at once on one database server.
class HostGate {
 public:
  explicit HostGate(int cap) : cap_(cap) {}
  void enter(const std::string& host) {
    if (cap_ <= 0) return;
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return in_flight_[host] < cap_; });
    ++in_flight_[host];
  }
  void leave(const std::string& host) {
    if (cap_ <= 0) return;
    std::lock_guard lock(mutex_);
    if (--in_flight_[host] == 0) in_flight_.erase(host);
    room_.notify_all();
  }

 private:
  int cap_;
  std::mutex mutex_;
  std::condition_variable room_;
  std::map<std::string, int> in_flight_;
};

class SummaryBuilder {
 public:
  // `tenant`: the record `outcome` is of, to group failures by reason (see failure_groups.hpp).
  void add(const TenantOutcome& outcome, const registry::TenantRecord& tenant) {
    std::lock_guard lock(mutex_);
    switch (outcome.state) {
      case TenantState::migrated: ++summary_.migrated; break;
      case TenantState::up_to_date: ++summary_.up_to_date; break;
      case TenantState::failed:
        ++summary_.failed;
        summary_.failures.push_back(outcome);
        failure_groups_.add(outcome.slug, outcome.reason, tenant);
        break;
      case TenantState::skipped: ++summary_.skipped; break;
      case TenantState::interrupted:
        ++summary_.interrupted;
        summary_.stopped.push_back(outcome);
        break;
      case TenantState::not_started:
        ++summary_.not_started;
        if (summary_.not_started_slugs.size() < not_started_names_kept)
          summary_.not_started_slugs.push_back(outcome.slug);
        return;
    }
    if (outcome.state == TenantState::skipped) return;
    auto& slowest = summary_.slowest;
    TenantOutcome brief{outcome.slug, outcome.state, outcome.batch, {}, {}, outcome.elapsed, outcome.attempts};
    slowest.insert(std::upper_bound(slowest.begin(), slowest.end(), brief,
                                    [](const auto& a, const auto& b) { return a.elapsed > b.elapsed; }),
                   std::move(brief));
    if (slowest.size() > 5) slowest.pop_back();
  }
  // The summary, with the tenants never read (a stop, an unreadable list) counted as not started.
  // `read_to_end`: every tenant of the list was seen; otherwise those never read count as not started.
  FleetSummary finish(Clock::time_point start, int known_total, bool read_to_end, std::string listing_error) {
    std::lock_guard lock(mutex_);
    auto& s = summary_;
    const int accounted = s.migrated + s.up_to_date + s.failed + s.skipped + s.interrupted + s.not_started;
    if (!read_to_end && accounted < known_total) s.not_started += known_total - accounted;
    if (read_to_end) known_total = accounted;
    s.total = std::max(known_total, accounted);
    s.listing_error = std::move(listing_error);
    s.failure_groups = failure_groups_.groups();
    s.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    return s;
  }

 private:
  std::mutex mutex_;
  FleetSummary summary_;
  FailureGrouper failure_groups_;
};

// Whether this worker may go ahead with tenant `id`. A claim that cannot be taken (the central
// connection broke) is no reason to skip the tenant: its own lock still keeps two runners apart,
// claims only spare them the wait.
bool may_work_on(std::optional<ClaimSession>& claims, const std::string& id) {
  if (!claims) return true;
  try {
    return claims->claim(id);
  } catch (const std::exception&) {
    return true;
  }
}

// The workers of one pass over a queue of tenants.
class Pass {
 public:
  Pass(const FleetOptions& options, Reporter& reporter, const TenantJob& job, SummaryBuilder& summary,
       std::atomic<bool>& stop)
      : options_(options), reporter_(reporter), job_(job), summary_(summary), stop_(stop), gate_(options.per_host) {}

  // Runs the workers until `queue` is closed and drained. `recheck`: tenants another replica
  // claimed, now done through their own lock (no claims); current ones count as skipped.
  void run(TenantQueue& queue, bool recheck) {
    std::vector<std::thread> threads;
    const int workers = std::max(1, options_.concurrency);
    for (int i = 0; i < workers; ++i) threads.emplace_back([&] { work(queue, recheck); });
    for (auto& thread : threads) thread.join();
  }

  std::vector<registry::TenantRecord> take_deferred() { return std::move(deferred_); }

 private:
  void report(const TenantOutcome& outcome, const registry::TenantRecord& tenant) {
    summary_.add(outcome, tenant);
    reporter_.tenant_finished(outcome);
  }

  void work(TenantQueue& queue, bool recheck) {
    std::optional<ClaimSession> claims;
    if (options_.claims_target && !recheck)
      claims.emplace(*options_.claims_target, options_.claims_connect, options_.claims_scope);
    while (auto tenant = queue.pop()) {
      TenantOutcome outcome;
      outcome.slug = tenant->label();
      if (stop_ || interrupt::requested()) {
        outcome.state = TenantState::not_started;
        report(outcome, *tenant);
        continue;
      }
      const std::string server = tenant->database.server();
      gate_.enter(server);
      if (stop_ || interrupt::requested()) {  // stopped while it waited for its server's turn
        gate_.leave(server);
        outcome.state = TenantState::not_started;
        report(outcome, *tenant);
        continue;
      }
      if (recheck && options_.claims_target) wait_for_other_replica(*tenant);
      if (!may_work_on(claims, tenant->id)) {
        gate_.leave(server);
        std::lock_guard lock(deferred_mutex_);
        deferred_.push_back(std::move(*tenant));
        continue;
      }
      try {
        outcome = job_(*tenant);
      } catch (const std::exception& error) {
        outcome.state = TenantState::failed;
        outcome.reason = pg::scrub(error.what());
      }
      gate_.leave(server);
      if (recheck && outcome.state == TenantState::up_to_date) outcome.state = TenantState::skipped;
      report(outcome, *tenant);
      if (options_.fail_fast && outcome.state == TenantState::failed) stop_ = true;
    }
  }

  // Waits until the replica that claimed `tenant` lets go of it, so that the check through the
  // tenant's own lock does not time out behind a long migration. A central database that cannot
  // be reached is no reason not to check.
  void wait_for_other_replica(const registry::TenantRecord& tenant) {
    try {
      ClaimSession(*options_.claims_target, options_.claims_connect, options_.claims_scope).wait_for(tenant.id);
    } catch (const std::exception&) {
    }
  }

  const FleetOptions& options_;
  Reporter& reporter_;
  const TenantJob& job_;
  SummaryBuilder& summary_;
  std::atomic<bool>& stop_;
  HostGate gate_;
  std::mutex deferred_mutex_;
  std::vector<registry::TenantRecord> deferred_;
};

}  // namespace

bool selected(const registry::TenantRecord& tenant, const FleetOptions& options) {
  if (!options.only.empty() && !options.only.count(tenant.slug)) return false;
  if (options.exclude.count(tenant.slug)) return false;
  if (options.shard && !in_shard(tenant.id, *options.shard)) return false;
  return true;
}

FleetSummary run_fleet(const TenantPages& pages, int known_total, const FleetOptions& options, Reporter& reporter,
                       const TenantJob& job) {
  const auto start = Clock::now();
  SummaryBuilder summary;
  std::atomic<bool> stop{false};
  Pass pass(options, reporter, job, summary, stop);

  TenantQueue queue(static_cast<std::size_t>(std::max(1, options.concurrency)) * 2);
  std::thread workers([&] { pass.run(queue, /*recheck=*/false); });
  std::string listing_error;
  std::exception_ptr listing_failure;
  bool read_to_end = false;
  int read = 0;
  try {
    registry::PageCursor after;
    // After --fail-fast the list is still read, so that every tenant left is named as not started.
    while (!interrupt::requested()) {
      auto page = pages(after);
      if (page.empty()) {
        read_to_end = true;
        break;
      }
      after = {page.back().slug, page.back().id};
      for (auto& tenant : page) {
        if (!selected(tenant, options)) continue;
        ++read;
        queue.push(std::move(tenant));
      }
    }
  } catch (const std::exception& error) {
    listing_error = error.what();
    listing_failure = std::current_exception();
  }
  queue.close();
  workers.join();
  if (listing_failure && read == 0) std::rethrow_exception(listing_failure);

  // Tenants another replica claimed: checked through their own lock, so that success means current.
  auto deferred = pass.take_deferred();
  if (!deferred.empty()) {
    TenantQueue again(deferred.size());
    for (auto& tenant : deferred) again.push(std::move(tenant));
    again.close();
    pass.run(again, /*recheck=*/true);
  }

  auto result = summary.finish(start, known_total, read_to_end, std::move(listing_error));
  reporter.run_finished(result);
  return result;
}

}  // namespace migrate::runner
