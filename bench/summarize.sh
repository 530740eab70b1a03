#!/usr/bin/env bash
# summarize.sh RESULTS_TSV: medians per size, side and phase, per-tenant times and the ratios the
# targets are stated in.
set -euo pipefail
awk -F'\t' '
  NR == 1 { next }
  { key = $1 SUBSEP $2 SUBSEP $3; secs[key] = secs[key] " " $5; rss[key] = rss[key] " " $6; sizes[$1] = 1 }
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function m(n, side, phase) { return median(secs[n SUBSEP side SUBSEP phase]) }
  function r(n, side, phase) { return median(rss[n SUBSEP side SUBSEP phase]) / 1024 }
  END {
    for (n in sizes) {
      printf "\nN=%d (medians)\n", n
      printf "%-34s %9s %12s %10s\n", "", "seconds", "ms/tenant", "peak MiB"
      split("migrate fresh|knex fresh|psql fresh|migrate noop|knex noop|floor noop|ledger noop", rows, "|")
      for (i = 1; i <= 7; i++) {
        split(rows[i], p, " ")
        if (secs[n SUBSEP p[1] SUBSEP p[2]] == "") continue
        printf "%-34s %9.2f %12.1f %10.1f\n", p[1] " " p[2], m(n, p[1], p[2]), 1000 * m(n, p[1], p[2]) / n, r(n, p[1], p[2])
      }
      if (secs[n SUBSEP "knex" SUBSEP "fresh"] != "") printf "fresh: knex / migrate = %.2fx (target >= 1.5x); migrate / psql floor = %.2fx (target <= 1.15x)\n",
        m(n, "knex", "fresh") / m(n, "migrate", "fresh"), m(n, "migrate", "fresh") / m(n, "psql", "fresh")
      if (secs[n SUBSEP "knex" SUBSEP "noop"] != "") printf "noop:  knex / migrate = %.2fx (target >= 3x)\n", m(n, "knex", "noop") / m(n, "migrate", "noop")
      printf "noop:  migrate / connect floor = %.2fx (target <= 1.2x)\n", m(n, "migrate", "noop") / m(n, "floor", "noop")
      if (secs[n SUBSEP "ledger" SUBSEP "noop"] != "")
        printf "noop:  ledger-query floor / connect floor = %.2fx (what reading the ledger itself costs)\n",
          m(n, "ledger", "noop") / m(n, "floor", "noop")
      printf "peak memory of migrate: %.1f MiB (target < 32 MiB)\n", (r(n, "migrate", "fresh") > r(n, "migrate", "noop") ? r(n, "migrate", "fresh") : r(n, "migrate", "noop"))
    }
  }' "$1"
