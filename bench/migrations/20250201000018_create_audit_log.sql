-- migrate:up
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  actor_id bigint,
  action text NOT NULL,
  object_type text NOT NULL,
  object_id bigint,
  changes jsonb,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_audit_log_object ON audit_log (object_type, object_id);

-- migrate:down
DROP TABLE audit_log;
