-- migrate:up
CREATE TABLE opportunity_products (
  opportunity_id bigint NOT NULL REFERENCES opportunities (id) ON DELETE CASCADE,
  product_id bigint NOT NULL REFERENCES products (id),
  quantity int NOT NULL DEFAULT 1,
  price numeric(12, 2) NOT NULL,
  PRIMARY KEY (opportunity_id, product_id)
);

-- migrate:down
DROP TABLE opportunity_products;
