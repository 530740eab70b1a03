// import-knex run as a user runs it, on the PostgreSQL server of the PG* environment: the password
// it masks, and what it lists for review. Run: node --test tools/import-knex/test/import-knex.test.js
// (ctest: import_knex.command).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { runTool, tempDir, makeRole, databasesOwnedBy, serverUrl, NO_SERVER } = require('./run');

const createTable = (name) =>
  `exports.up = (knex) => knex.schema.createTable('${name}', (t) => t.increments());\n` +
  `exports.down = (knex) => knex.schema.dropTable('${name}');\n`;
// A migration whose up fails with a server error that quotes `word`.
const failingOn = (word) => `exports.up = (knex) => knex.raw('SELECT * FROM "${word}"');\nexports.down = async () => {};\n`;

test('with --server, PGPASSWORD is not used and not masked: a short one leaves every word readable',
     { skip: NO_SERVER }, async (t) => {
       const role = await makeRole(t, 'pw-long-enough-1');
       const source = tempDir(t, { '20250101000001_create_a.js': createTable('a') });
       const out = tempDir(t);
       const result = await runTool([source, '--out', out, '--server', serverUrl(role)], { PGPASSWORD: 'e' });
       assert.strictEqual(result.code, 0, result.all);
       assert.match(result.out, /^import-knex: 1 migration in .*, scratch database import_knex_[0-9a-f]{12} on /);
       assert.match(result.out, /\nconverted      20250101000001_create_a\.js\n/);
       assert.ok(!result.all.includes(role.password), result.all);
       assert.strictEqual(await databasesOwnedBy(role), 0);
     });

test('the password used is masked in a server error text, one of 1 to 3 characters as a whole word only',
     { skip: NO_SERVER }, async (t) => {
       const role = await makeRole(t, 'e');
       const source = tempDir(t, { '20250101000001_broken.js': failingOn('e') });
       const result = await runTool([source, '--out', tempDir(t)], { PGUSER: role.name, PGPASSWORD: 'e' });
       assert.strictEqual(result.code, 1, result.all);
       assert.match(result.out, /^import-knex: 1 migration in /);
       assert.match(result.out, /\nFAILED         20250101000001_broken\.js: up fails: relation "\*\*\*" does not exist\n/);
       assert.strictEqual(await databasesOwnedBy(role), 0);
     });

test('the password of --server is masked in a server error text, and the wrong one in the refusal',
     { skip: NO_SERVER }, async (t) => {
       const role = await makeRole(t, 'pw-long-enough-2');
       const source = tempDir(t, { '20250101000001_broken.js': failingOn(role.password) });
       const env = { PGUSER: 'nobody', PGPASSWORD: 'unused-but-long' };
       const result = await runTool([source, '--out', tempDir(t), '--server', serverUrl(role)], env);
       assert.strictEqual(result.code, 1, result.all);
       assert.match(result.out, /\nFAILED         20250101000001_broken\.js: up fails: relation "\*\*\*" does not exist\n/);
       assert.ok(!result.all.includes(role.password), result.all);

       const refused = await runTool([source, '--out', tempDir(t), '--server', serverUrl(role, 'wrong-one')], env);
       assert.strictEqual(refused.code, 2, refused.all);
       assert.match(refused.err, new RegExp(`^import-knex: cannot connect to the server: password authentication failed for user "${role.name}"`));
       assert.ok(!refused.all.includes('wrong-one'), refused.all);
       assert.strictEqual(await databasesOwnedBy(role), 0);
     });

test('transaction:false: a statement without IF [NOT] EXISTS is listed for review, IF NOT EXISTS is not',
     { skip: NO_SERVER }, async (t) => {
       const source = tempDir(t, {
         '20250101000001_plain.js': "exports.config = { transaction: false };\n" +
                                    "exports.up = (knex) => knex.raw('create table e (id int)');\n" +
                                    "exports.down = (knex) => knex.raw('drop table e');\n",
         '20250101000002_guarded.js': "exports.config = { transaction: false };\n" +
                                      "exports.up = (knex) => knex.raw('CREATE INDEX CONCURRENTLY IF NOT EXISTS e_id ON e (id)');\n" +
                                      "exports.down = (knex) => knex.raw('DROP INDEX CONCURRENTLY IF EXISTS e_id');\n",
       });
       const out = tempDir(t);
       const result = await runTool([source, '--out', out]);
       assert.strictEqual(result.code, 0, result.all);
       const reason = 'transaction:false: a statement without IF [NOT] EXISTS cannot be retried safely if the run is ' +
                      'interrupted: create table e (id int); down: drop table e';
       assert.ok(result.out.includes(`\nneeds review   20250101000001_plain.js: ${reason}\n`), result.out);
       assert.ok(result.out.includes('\nconverted      20250101000002_guarded.js\n'), result.out);
       assert.ok(result.out.includes('1 converted, 1 needs review'), result.out);
       const file = fs.readFileSync(path.join(out, '20250101000001_plain.sql'), 'utf8');
       assert.ok(file.includes(`\n-- REVIEW: ${reason}\n-- migrate:up transaction:false\ncreate table e (id int);\n`), file);
     });

test('two knex files with one timestamp are both flagged, whatever the rest of their names',
     { skip: NO_SERVER }, async (t) => {
       const source = tempDir(t, {
         '20250101000001_create_a.js': createTable('a'),
         '20250101000001-CreateB.js': createTable('b'),
         '20250101000002_create_c.js': createTable('c'),
       });
       const result = await runTool([source, '--out', tempDir(t)]);
       assert.strictEqual(result.code, 0, result.all);
       const same = 'another file has the same timestamp: migrate refuses the folder until one is renamed';
       assert.match(result.out, new RegExp(`\\n  20250101000001-CreateB\\.sql: [^\\n]*; ${same}\\n`));
       assert.match(result.out, new RegExp(`\\n  20250101000001_create_a\\.sql: ${same}\\n`));
       assert.ok(!result.out.includes('\n  20250101000002_create_c.sql'), result.out);
     });

test('without PGPASSWORD, the password of ~/.pgpass (PGPASSFILE) connects, is masked, and brings no notice',
     { skip: NO_SERVER }, async (t) => {
       const role = await makeRole(t, 'pw-from-pgpass-3');
       const source = tempDir(t, { '20250101000001_broken.js': failingOn(role.password) });
       const secrets = tempDir(t, { pgpass: `*:*:*:${role.name}:${role.password}\n` });
       fs.chmodSync(path.join(secrets, 'pgpass'), 0o600);
       const env = { PGUSER: role.name, PGPASSWORD: undefined, PGPASSFILE: path.join(secrets, 'pgpass') };
       const result = await runTool([source, '--out', tempDir(t)], env);
       assert.strictEqual(result.code, 1, result.all);
       assert.match(result.out, new RegExp(` as ${role.name}\\n`));
       assert.match(result.out, /\nFAILED         20250101000001_broken\.js: up fails: relation "\*\*\*" does not exist\n/);
       assert.ok(!result.all.includes(role.password), result.all);
       assert.strictEqual(result.err, '');
       assert.strictEqual(await databasesOwnedBy(role), 0);
     });
