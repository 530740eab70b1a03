#pragma once
// Listeners and reporters the commands share.
#include "migrate/runner/engine.hpp"
#include "migrate/runner/outcome.hpp"
#include "migrate/runner/reporter.hpp"

namespace migrate::runner {

// Tells a reporter what the engine does for one tenant, and keeps what committed in `outcome`.
class ReportSteps : public StepListener {
 public:
  // `rolling_back`: the steps are down sections, told as "N to roll back" rather than "N pending".
  ReportSteps(Reporter& reporter, TenantOutcome& outcome, bool rolling_back = false)
      : reporter_(reporter), outcome_(outcome), rolling_back_(rolling_back) {}
  void pending(int count) override {
    if (rolling_back_)
      reporter_.line(outcome_.slug + ": " + std::to_string(count) + " to roll back");
    else
      reporter_.tenant_started(outcome_.slug, count);
  }
  void applied(const AppliedStep& step, int batch) override {
    outcome_.steps.push_back(step);
    outcome_.batch = batch;
    reporter_.migration_applied(outcome_.slug, step);
  }
  void warning(const std::string& text) override { reporter_.warning(outcome_.slug, text); }

 private:
  Reporter& reporter_;
  TenantOutcome& outcome_;
  bool rolling_back_;
};

// For a pass over the fleet whose lines are printed at the end (status, a rollback's plan).
class SilentReporter : public Reporter {
 public:
  void run_started(const std::string&, int) override {}
  void tenant_started(const std::string&, int) override {}
  void migration_applied(const std::string&, const AppliedStep&) override {}
  void warning(const std::string&, const std::string&) override {}
  void retrying(const std::string&, int, std::chrono::milliseconds, const std::string&) override {}
  void tenant_finished(const TenantOutcome&) override {}
  void run_finished(const FleetSummary&) override {}
  void line(const std::string&) override {}
};

}  // namespace migrate::runner
