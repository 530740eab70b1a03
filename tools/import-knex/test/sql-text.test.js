// Bound values written into SQL text where the server would have read a parameter, and nowhere
// else. Run: node --test tools/import-knex/test/sql-text.test.js (ctest: import_knex.sql_text).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { inlineBindings, literal, terminate, firstKeyword } = require('../lib/sql-text');

test('a parameter becomes the literal of its value', () => {
  assert.strictEqual(inlineBindings('select $1, $2, $3', ['a', 2, null]), "select 'a', 2, NULL");
  assert.strictEqual(inlineBindings('x = $10', Array.from({ length: 10 }, (_, i) => i + 1)), 'x = 10');
});

test('strings: quotes doubled, E-strings with doubled backslashes when there is a backslash', () => {
  assert.strictEqual(literal("can't"), "'can''t'");
  assert.strictEqual(literal('C:\\logs'), "E'C:\\\\logs'");
  assert.strictEqual(literal("it's C:\\x"), "E'it''s C:\\\\x'");
});

test('numbers, booleans, dates, arrays, objects and buffers as node-pg sends them', () => {
  assert.strictEqual(literal(true), 'true');
  assert.strictEqual(literal(false), 'false');
  assert.strictEqual(literal(undefined), 'NULL');
  assert.strictEqual(literal(1.5), '1.5');
  assert.strictEqual(literal(-3), '(-3)');
  assert.strictEqual(literal(12345678901234567890n), '12345678901234567890');
  assert.strictEqual(literal(Number.NaN), "'NaN'");
  assert.match(literal(new Date(0)), /^'1970-01-01T\d\d:\d\d:00\.000[+-]\d\d:\d\d'$/);
  assert.strictEqual(literal([1, 'a"b', null]), String.raw`E'{"1","a\\"b",NULL}'`);
  assert.strictEqual(literal({ a: "it's" }), "'{\"a\":\"it''s\"}'");
  assert.strictEqual(literal(Buffer.from('ab')), "'\\x6162'::bytea");
});

test('no parameter inside strings, quoted identifiers, dollar quotes, comments or words', () => {
  const sql = "select $1, '$1', E'\\'$1', \"a$1\", foo$1, $$ $1 $$, $t$ $1 $t$, -- $1\n /* $1 /* $1 */ $1 */ $2";
  assert.strictEqual(
    inlineBindings(sql, ['x', 'y']),
    "select 'x', '$1', E'\\'$1', \"a$1\", foo$1, $$ $1 $$, $t$ $1 $t$, -- $1\n /* $1 /* $1 */ $1 */ 'y'");
});

test('a negative number after a minus cannot become a comment', () => {
  assert.strictEqual(inlineBindings('select 5 -$1', [-1]), 'select 5 -(-1)');
});

test('a parameter without a value is an error, not a guess', () => {
  assert.throws(() => inlineBindings('select $1, $2', ['a']), /no value bound for \$2/);
});

test('statements end with exactly one semicolon, outside a trailing line comment', () => {
  assert.strictEqual(terminate('create table t (id int)'), 'create table t (id int);');
  assert.strictEqual(terminate('  drop table t;  \n'), 'drop table t;');
  assert.strictEqual(terminate('select 1 -- why'), 'select 1 -- why\n;');
  assert.strictEqual(terminate("select ';'"), "select ';';");
  assert.strictEqual(terminate('select 1; -- done'), 'select 1; -- done');
});

test('the first keyword skips comments and parentheses', () => {
  assert.strictEqual(firstKeyword('/* x */ (select 1)'), 'SELECT');
  assert.strictEqual(firstKeyword('-- note\nwith a as (select 1) select * from a'), 'WITH');
  assert.strictEqual(firstKeyword('insert into t values (1)'), 'INSERT');
});
