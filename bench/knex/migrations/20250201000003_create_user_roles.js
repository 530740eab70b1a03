exports.up = (knex) => knex.raw("CREATE TABLE user_roles (\n  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,\n  role_id int NOT NULL REFERENCES roles (id) ON DELETE CASCADE,\n  PRIMARY KEY (user_id, role_id)\n);");
exports.down = (knex) => knex.raw("DROP TABLE user_roles;");
