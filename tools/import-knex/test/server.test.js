// The password import-knex must never print is the one the connection uses: the one in --server,
// else PGPASSWORD (node-pg's own order). Run: node --test tools/import-knex/test/server.test.js
// (ctest: import_knex.server).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { secretsOf } = require('../lib/server');

test('--server with a password: that password, as written and decoded, and not PGPASSWORD', () => {
  assert.deepStrictEqual(secretsOf('postgresql://u:p%40ss@h/db', { PGPASSWORD: 'e' }).sort(), ['p%40ss', 'p@ss']);
});

test('--server without a password: PGPASSWORD, which node-pg then uses', () => {
  assert.deepStrictEqual(secretsOf('postgresql://u@h/db', { PGPASSWORD: 'from-env' }), ['from-env']);
  assert.deepStrictEqual(secretsOf('postgresql://u:@h/db', { PGPASSWORD: 'from-env' }), ['from-env']);
});

test('no --server: PGPASSWORD, or nothing', () => {
  assert.deepStrictEqual(secretsOf(undefined, { PGPASSWORD: 'from-env' }), ['from-env']);
  assert.deepStrictEqual(secretsOf(undefined, {}), []);
});
