-- migrate:up
CREATE TABLE IF NOT EXISTS tenants (
  id                    text PRIMARY KEY,
  slug                  text NOT NULL UNIQUE,
  name                  text,
  status                text NOT NULL DEFAULT 'active',  -- active, suspended, provisioning, deleted
  db_host               text NOT NULL,
  db_port               integer NOT NULL DEFAULT 5432,
  db_name               text NOT NULL,
  db_user               text NOT NULL,
  db_password_encrypted text NOT NULL,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tenants_status_slug ON tenants (status, slug);

-- migrate:down
DROP TABLE IF EXISTS tenants;
