-- migrate:up
ALTER TABLE opportunities ADD CONSTRAINT opportunities_amount_positive CHECK (amount IS NULL OR amount >= 0);

-- migrate:down
ALTER TABLE opportunities DROP CONSTRAINT opportunities_amount_positive;
