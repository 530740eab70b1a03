# A throwaway PostgreSQL cluster for one run of tests, stopped and removed when the calling script
# exits. Source this file from a script whose working folder is the repository's root, then call
# start_test_cluster: it exports PGHOST, PGPORT, PGUSER, PGPASSWORD and MIGRATE_TEST_CA.

start_test_cluster() {
  test_cluster_work=$(mktemp -d /tmp/migrate-test.XXXXXX)
  trap stop_test_cluster EXIT
  scripts/pg-cluster.sh start "$test_cluster_work/pg"
  source "$test_cluster_work/pg/env"
}

stop_test_cluster() {
  [ -n "${test_cluster_work:-}" ] || return 0
  "$test_cluster_root/scripts/pg-cluster.sh" stop "$test_cluster_work/pg"
  rm -rf "$test_cluster_work"
}

test_cluster_root=$PWD
