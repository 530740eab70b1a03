exports.up = (knex) => knex.raw("CREATE TABLE audit_log (\n  id bigserial PRIMARY KEY,\n  actor_id bigint,\n  action text NOT NULL,\n  object_type text NOT NULL,\n  object_id bigint,\n  changes jsonb,\n  at timestamptz NOT NULL DEFAULT now()\n);\nCREATE INDEX idx_audit_log_object ON audit_log (object_type, object_id);");
exports.down = (knex) => knex.raw("DROP TABLE audit_log;");
