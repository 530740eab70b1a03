--  migrate:up   transaction:true
DO $backfill$
BEGIN
  UPDATE invoices SET status = 'open' WHERE status IS NULL; -- 'quoted; text'
  RAISE NOTICE E'done\n';
END
$backfill$;
/* a /* nested */ comment; with a semicolon */
INSERT INTO settings (key, value) VALUES ('theme', 'it''s dark');
--migrate:down
