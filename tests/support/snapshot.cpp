#include "support/snapshot.hpp"

#include "support/cluster.hpp"

namespace support {

std::string catalog_snapshot(const Tenant& tenant) {
  const std::string user_schemas =
      "NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND nspname NOT LIKE 'pg_temp%' AND nspname NOT LIKE "
      "'pg_toast_temp%'";
  std::string text =
      admin_exec(
          "SELECT coalesce(string_agg(line, E'\\n' ORDER BY line), '') FROM ("
          " SELECT 'relation ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text AS line"
          "   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname " +
              user_schemas +
              " UNION ALL SELECT 'column ' || a.attrelid::regclass || '.' || a.attname || ' ' ||"
              "   format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' "
              "ELSE '' END"
              "   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON "
              "n.oid = c.relnamespace"
              "   WHERE a.attnum > 0 AND NOT a.attisdropped AND n.nspname " +
              user_schemas +
              " UNION ALL SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || "
              "pg_get_constraintdef(oid)"
              "   FROM pg_constraint WHERE connamespace IN (SELECT oid FROM pg_namespace WHERE nspname " +
              user_schemas +
              ")"
              " UNION ALL SELECT 'index ' || indexrelid::regclass || ' valid ' || indisvalid"
              "   FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid "
              "= c.relnamespace WHERE n.nspname " +
              user_schemas +
              " UNION ALL SELECT 'function ' || p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n "
              "ON n.oid = p.pronamespace WHERE n.nspname " +
              user_schemas + ") lines",
          tenant.db)[0][0]
          .as<std::string>();
  for (const auto* table : {"knex_migrations", "knex_migrations_lock", "knex_migrations_checksums"}) {
    if (admin_exec(std::string("SELECT to_regclass('public.") + table + "') IS NULL", tenant.db)[0][0].as<bool>())
      continue;
    text +=
        std::string("\n") + table + ": " +
        admin_exec(std::string("SELECT coalesce(string_agg(t::text, ' ' ORDER BY t::text), '') FROM ") + table + " t",
                   tenant.db)[0][0]
            .as<std::string>();
  }
  return text;
}

}  // namespace support
