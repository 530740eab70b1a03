exports.up = (knex) => knex.raw("CREATE FUNCTION set_updated_at() RETURNS trigger AS $$\nBEGIN\n  NEW.updated_at := now();\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\nCREATE TRIGGER users_updated_at BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION set_updated_at();");
exports.down = (knex) => knex.raw("DROP TRIGGER users_updated_at ON users;\nDROP FUNCTION set_updated_at();");
