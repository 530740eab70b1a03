-- migrate:up
CREATE TABLE products (
  id bigserial PRIMARY KEY,
  sku text NOT NULL UNIQUE,
  name text NOT NULL,
  unit_price numeric(12, 2) NOT NULL DEFAULT 0,
  active boolean NOT NULL DEFAULT true
);

-- migrate:down
DROP TABLE products;
