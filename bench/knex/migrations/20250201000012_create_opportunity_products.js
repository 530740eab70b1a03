exports.up = (knex) => knex.raw("CREATE TABLE opportunity_products (\n  opportunity_id bigint NOT NULL REFERENCES opportunities (id) ON DELETE CASCADE,\n  product_id bigint NOT NULL REFERENCES products (id),\n  quantity int NOT NULL DEFAULT 1,\n  price numeric(12, 2) NOT NULL,\n  PRIMARY KEY (opportunity_id, product_id)\n);");
exports.down = (knex) => knex.raw("DROP TABLE opportunity_products;");
