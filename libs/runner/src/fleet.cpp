#include "migrate/runner/fleet.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "migrate/pg/errors.hpp"

namespace migrate::runner {
namespace {

using Clock = std::chrono::steady_clock;

// A bounded hand-over from the tenant reader to the workers, so memory does not grow with the fleet.
class TenantQueue {
 public:
  explicit TenantQueue(std::size_t capacity) : capacity_(capacity) {}

  void push(registry::TenantRecord tenant) {
    std::unique_lock lock(mutex_);
    has_room_.wait(lock, [&] { return queue_.size() < capacity_ || closed_; });
    if (closed_) return;
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
  // No more tenants will come; workers drain what is queued. With `drop`, what is queued is dropped.
  void close(bool drop = false) {
    std::lock_guard lock(mutex_);
    closed_ = true;
    if (drop) queue_.clear();
    has_work_.notify_all();
    has_room_.notify_all();
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
  void add(const TenantOutcome& outcome) {
    std::lock_guard lock(mutex_);
    ++summary_.total;
    switch (outcome.state) {
      case TenantState::migrated: ++summary_.migrated; break;
      case TenantState::up_to_date: ++summary_.up_to_date; break;
      case TenantState::failed:
        ++summary_.failed;
        summary_.failures.push_back(outcome);
        break;
      case TenantState::skipped: ++summary_.skipped; break;
    }
    if (outcome.state == TenantState::skipped) return;
    auto& slowest = summary_.slowest;
    TenantOutcome brief{outcome.slug, outcome.state, outcome.batch, {}, {}, outcome.elapsed, outcome.attempts};
    slowest.insert(std::upper_bound(slowest.begin(), slowest.end(), brief,
                                    [](const auto& a, const auto& b) { return a.elapsed > b.elapsed; }),
                   std::move(brief));
    if (slowest.size() > 5) slowest.pop_back();
  }
  FleetSummary finish(Clock::time_point start) {
    std::lock_guard lock(mutex_);
    summary_.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    return summary_;
  }

 private:
  std::mutex mutex_;
  FleetSummary summary_;
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

bool selected(const registry::TenantRecord& tenant, const FleetOptions& options) {
  if (!options.only.empty() && !options.only.count(tenant.slug)) return false;
  if (options.exclude.count(tenant.slug)) return false;
  if (options.shard && !in_shard(tenant.id, *options.shard)) return false;
  return true;
}

}  // namespace

FleetSummary run_fleet(const TenantPages& pages, const FleetOptions& options, Reporter& reporter,
                       const TenantJob& job) {
  const auto start = Clock::now();
  const int workers = std::max(1, options.concurrency);
  TenantQueue queue(static_cast<std::size_t>(workers) * 2);
  HostGate gate(options.per_host);
  SummaryBuilder summary;
  std::atomic<bool> stop{false};

  auto work = [&] {
    std::optional<ClaimSession> claims;
    if (options.claims_conninfo) claims.emplace(*options.claims_conninfo, options.claims_connect);
    while (auto tenant = queue.pop()) {
      if (stop) break;
      const std::string server = tenant->database.server();
      gate.enter(server);
      TenantOutcome outcome;
      if (!may_work_on(claims, tenant->id)) {
        outcome.slug = tenant->slug;
        outcome.state = TenantState::skipped;
      } else {
        try {
          outcome = job(*tenant);
        } catch (const std::exception& error) {
          outcome.slug = tenant->slug;
          outcome.state = TenantState::failed;
          outcome.reason = pg::scrub(error.what());
        }
      }
      gate.leave(server);
      summary.add(outcome);
      reporter.tenant_finished(outcome);
      if (options.fail_fast && outcome.state == TenantState::failed) {
        stop = true;
        queue.close(/*drop=*/true);
      }
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(workers));
  for (int i = 0; i < workers; ++i) threads.emplace_back(work);

  std::exception_ptr reading_failed;
  try {
    std::string after;
    while (!stop) {
      auto page = pages(after);
      if (page.empty()) break;
      after = page.back().slug;
      for (auto& tenant : page)
        if (selected(tenant, options)) queue.push(std::move(tenant));
    }
  } catch (...) {
    reading_failed = std::current_exception();
    stop = true;
  }
  queue.close(/*drop=*/static_cast<bool>(reading_failed));
  for (auto& thread : threads) thread.join();
  if (reading_failed) std::rethrow_exception(reading_failed);

  auto result = summary.finish(start);
  reporter.run_finished(result);
  return result;
}

}  // namespace migrate::runner
