-- Indexes built without locking writes: each statement on its own, outside a transaction.
-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_contacts_email ON contacts (email);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_contacts_owner ON contacts (owner_id);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS idx_contacts_owner;
DROP INDEX CONCURRENTLY IF EXISTS idx_contacts_email;
