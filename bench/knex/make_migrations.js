// Writes migrations/*.js: bench/migrations/*.sql as knex migrations (the same SQL through
// knex.raw), so both tools apply exactly the same statements. Run: node make_migrations.js
'use strict';
const fs = require('fs');
const path = require('path');

const source = path.join(__dirname, '..', 'migrations');
const target = path.join(__dirname, 'migrations');
fs.rmSync(target, { recursive: true, force: true });
fs.mkdirSync(target);
for (const file of fs.readdirSync(source).filter((f) => f.endsWith('.sql')).sort()) {
  const text = fs.readFileSync(path.join(source, file), 'utf8');
  const up = text.slice(text.indexOf('\n', text.indexOf('-- migrate:up')) + 1, text.indexOf('-- migrate:down')).trim();
  const down = text.slice(text.indexOf('\n', text.indexOf('-- migrate:down')) + 1).trim();
  fs.writeFileSync(path.join(target, file.replace(/\.sql$/, '.js')),
    `exports.up = (knex) => knex.raw(${JSON.stringify(up)});\n` +
    `exports.down = (knex) => knex.raw(${JSON.stringify(down)});\n`);
}
