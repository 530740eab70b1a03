// Test-only bridge to knex, driven by tests/integration/knex_test.cpp. Connection comes from
// PGHOST, PGPORT, PGUSER and PGPASSWORD (node-postgres reads them); the database is an argument.
//   node knex_check.js list DB DIR [CONFIG]    prints {"completed":[...],"pending":[...]} as knex sees them
//   node knex_check.js latest DB DIR [CONFIG]  knex applies DIR's .sql files (their up sections) itself,
//                                              printing {"batch":N,"names":[...]}
//   node knex_check.js latest-js DB DIR       knex applies DIR's JavaScript migrations as knex scripts do,
//                                              printing {"batch":N,"names":[...]}
//   node knex_check.js decrypt KEY VAL         decrypts VAL as Node code of existing fleets does
// CONFIG, when given, is JSON merged into knex's migration config, e.g. {"tableName":"schema_history"}
// or {"disableTransactions":true} (knex then takes its lock row in a transaction of its own).
// A failure prints knex's message on stderr and exits 1.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const [command, a, b, configText] = process.argv.slice(2);
const extra = configText ? JSON.parse(configText) : {};

function connect(database) {
  return require('knex')({ client: 'pg', connection: { database } });
}

function upSection(file) {
  const text = fs.readFileSync(file, 'utf8');
  const up = text.indexOf('-- migrate:up');
  const down = text.indexOf('-- migrate:down');
  return text.slice(text.indexOf('\n', up) + 1, down < 0 ? undefined : down);
}

// knex cannot require() a .sql file; this source hands it the same names, each running its up section.
class SqlFileSource {
  constructor(dir) { this.dir = dir; }
  async getMigrations() { return fs.readdirSync(this.dir).filter((f) => f.endsWith('.sql')).sort(); }
  getMigrationName(name) { return name; }
  async getMigration(name) {
    const sql = upSection(path.join(this.dir, name));
    return { up: (knex) => knex.raw(sql), down: async () => {} };
  }
}

async function main() {
  if (command === 'decrypt') {
    const [ivHex, ctHex] = b.split(':');
    const decipher = crypto.createDecipheriv('aes-256-cbc', Buffer.from(a), Buffer.from(ivHex, 'hex'));
    process.stdout.write(Buffer.concat([decipher.update(Buffer.from(ctHex, 'hex')), decipher.final()]).toString('utf8'));
    return;
  }
  const knex = connect(a);
  try {
    if (command === 'list') {
      const [completed, pending] = await knex.migrate.list({ directory: b, loadExtensions: ['.sql'], ...extra });
      process.stdout.write(JSON.stringify({
        completed: completed.map((m) => m.name),
        pending: pending.map((m) => m.file),
      }));
    } else if (command === 'latest') {
      const [batch, names] = await knex.migrate.latest({ migrationSource: new SqlFileSource(b), ...extra });
      process.stdout.write(JSON.stringify({ batch, names }));
    } else if (command === 'latest-js') {
      const [batch, names] = await knex.migrate.latest({ directory: b, ...extra });
      process.stdout.write(JSON.stringify({ batch, names }));
    } else {
      throw new Error('unknown command ' + command);
    }
  } finally {
    await knex.destroy();
  }
}

main().catch((error) => { console.error(error.message); process.exit(1); });
