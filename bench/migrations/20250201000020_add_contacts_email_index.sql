-- migrate:up
CREATE INDEX idx_contacts_email ON contacts (lower(email));

-- migrate:down
DROP INDEX idx_contacts_email;
