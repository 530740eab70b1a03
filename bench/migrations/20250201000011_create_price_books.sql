-- migrate:up
CREATE TABLE price_books (
  id serial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  currency char(3) NOT NULL DEFAULT 'USD'
);
CREATE TABLE price_book_entries (
  price_book_id int NOT NULL REFERENCES price_books (id) ON DELETE CASCADE,
  product_id bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
  price numeric(12, 2) NOT NULL,
  PRIMARY KEY (price_book_id, product_id)
);

-- migrate:down
DROP TABLE price_book_entries;
DROP TABLE price_books;
