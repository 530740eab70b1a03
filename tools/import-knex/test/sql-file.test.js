// The checks on a converted file's name and text. Run: node --test tools/import-knex/test/sql-file.test.js
// (ctest: import_knex.sql_file).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { sharedTimestamps, textReviews } = require('../lib/sql-file');

const RETRY = 'transaction:false: a statement without IF [NOT] EXISTS cannot be retried safely if the run is interrupted';

test('two files with one 14-digit timestamp are flagged whatever the rest of their names', () => {
  const names = ['20250101000001_create_a.sql', '20250101000001-Create-B.sql', '20250101000002_ok.sql',
                 '20250101000003_x.sql', '20250101000003.sql', '202501010000031_longer.sql', 'misc.sql'];
  assert.deepStrictEqual([...sharedTimestamps(names)].sort(),
                         ['20250101000001-Create-B.sql', '20250101000001_create_a.sql', '20250101000003.sql',
                          '20250101000003_x.sql']);
  assert.strictEqual(sharedTimestamps(['20250101000001_a.sql', '20250101000002_a.sql']).size, 0);
});

test('transaction:false: CREATE, DROP or ALTER without IF [NOT] EXISTS is listed for review, naming it', () => {
  const reviews = textReviews('20250101000001_e.sql', {
    transaction: false,
    up: ['create table e (id int)', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON e (id)'],
    down: ['DROP INDEX CONCURRENTLY IF EXISTS i', 'drop table e'],
  });
  assert.deepStrictEqual(reviews, [`${RETRY}: create table e (id int); down: drop table e`]);
});

test('transaction:false: IF [NOT] EXISTS, CREATE OR REPLACE and other statements are fine', () => {
  const reviews = textReviews('20250101000001_e.sql', {
    transaction: false,
    up: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON e (id)', 'alter table e add column if not exists c int',
         'CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS $$ select 1 $$', "ALTER TYPE s ADD VALUE IF NOT EXISTS 'x'",
         'VACUUM e', 'select 1'],
    down: ['DROP INDEX CONCURRENTLY IF EXISTS i'],
  });
  assert.deepStrictEqual(reviews, []);
});

test('transaction:false: IF EXISTS inside a string or a comment does not count', () => {
  const reviews = textReviews('20250101000001_e.sql', {
    transaction: false, up: ["create table e (note text default 'if not exists') -- if not exists"], down: [] });
  assert.strictEqual(reviews.length, 1);
  assert.match(reviews[0], /cannot be retried safely if the run is interrupted: create table e/);
});

test('a transactional migration is not checked for IF [NOT] EXISTS', () => {
  assert.deepStrictEqual(textReviews('20250101000001_e.sql', { transaction: true, up: ['create table e (id int)'],
                                                                down: ['drop table e'] }), []);
});

test('names as knex writes them (either case, -) are the names migrate reads; a blank or a dot is flagged', () => {
  const clean = { transaction: true, up: ['select 1'], down: ['select 1'] };
  for (const name of ['20250101000001_createUsers.sql', '20250101000001_add-users.sql', '20250101000001_a_b.sql'])
    assert.deepStrictEqual(textReviews(name, clean), [], name);
  for (const name of ['20250101000001_add users.sql', '20250101000001_add.users.sql', '2025010100001_short.sql'])
    assert.ok(textReviews(name, clean).some((review) => review.includes('is not named as migrate wants')), name);
});
