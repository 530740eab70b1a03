exports.up = (knex) => knex.raw("CREATE TABLE products (\n  id bigserial PRIMARY KEY,\n  sku text NOT NULL UNIQUE,\n  name text NOT NULL,\n  unit_price numeric(12, 2) NOT NULL DEFAULT 0,\n  active boolean NOT NULL DEFAULT true\n);");
exports.down = (knex) => knex.raw("DROP TABLE products;");
