-- migrate:up
ALTER TABLE contacts ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();

-- A function body with semicolons and quotes survives: the section goes to the server whole.
CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger AS $$
BEGIN
  NEW.updated_at := now();  -- 'now'; not a statement end
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS contacts_touch ON contacts;
CREATE TRIGGER contacts_touch BEFORE UPDATE ON contacts
  FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- migrate:down
DROP TRIGGER IF EXISTS contacts_touch ON contacts;
DROP FUNCTION IF EXISTS touch_updated_at();
ALTER TABLE contacts DROP COLUMN IF EXISTS updated_at;
