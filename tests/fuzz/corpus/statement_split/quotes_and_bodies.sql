INSERT INTO notes (body) VALUES ('semi;colon', E'back\'slash;', 'it''s');
CREATE FUNCTION f() RETURNS int AS $fn$ SELECT 1; $fn$ LANGUAGE sql;
DO $$ BEGIN PERFORM 1; END $$;
SELECT "odd;name" FROM t /* block; /* nested; */ still */ ;
SELECT $1, a$b FROM t;
