// Records what knex sends while a migration's up or down runs, from knex's own `query` and
// `query-error` events, and sorts it: statements for the .sql file, knex's schema introspection
// (hasTable, hasColumn, columnInfo: reads the migration branches on, left out of the file),
// reads of data, statements that failed and were caught, statements sent outside the transaction.
'use strict';
const { inlineBindings, firstKeyword } = require('./sql-text');

// knex's pg schema compiler: hasTable, hasColumn, columnInfo.
const INTROSPECTION = /^\s*select \* from information_schema\.(?:tables|columns) where table_(?:name|catalog) = /i;
const READ_METHODS = new Set(['select', 'first', 'pluck', 'columnInfo']);
const READ_KEYWORDS = new Set(['SELECT', 'WITH', 'TABLE', 'VALUES', 'SHOW', 'EXPLAIN', 'FETCH']);

function oneLine(text, max = 100) {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 3) + '...' : flat;
}

class Recorder {
  constructor(knex) {
    this.active = null;
    this.lastBeginConnection = null;
    knex.on('query', (query) => this.onQuery(query));
    knex.on('query-error', (error, query) => this.onError(error, query));
    knex.on('query-response', (response, query) => this.onResponse(response, query));
  }

  // Runs `work()` while recording and returns the recording: `statements` for the file, and
  // `introspection`, `reads`, `failed`, `outside` for review, `error` when `work` threw. With
  // `inTransaction`, `work` runs in the transaction whose BEGIN knex sent last: a statement sent on
  // another connection is outside it.
  async record(work, { inTransaction = false } = {}) {
    const recording = { entries: [], introspection: [], reads: [], failed: [], outside: [], error: null };
    this.active = { recording, inTransaction, connection: inTransaction ? this.lastBeginConnection : null };
    try {
      await work();
    } catch (error) {
      recording.error = error;
    } finally {
      this.active = null;
    }
    recording.statements = recording.entries.filter((entry) => !entry.failed && !entry.introspection).map((e) => e.sql);
    return recording;
  }

  onQuery(query) {
    if (/^BEGIN\b/i.test(query.sql || '')) this.lastBeginConnection = query.__knexUid;
    if (!this.active) return;
    const { recording, inTransaction, connection } = this.active;
    let sql;
    try {
      sql = inlineBindings(query.sql, query.bindings);
    } catch (error) {
      sql = query.sql;
      recording.failed.push(`cannot write its bound values into ${oneLine(query.sql)}: ${error.message}`);
    }
    const entry = { sql, raw: query.sql, uid: query.__knexQueryUid, done: false, failed: false, introspection: false };
    const introspection = INTROSPECTION.test(query.sql);
    if (introspection) {
      entry.introspection = describeIntrospection(query);
      recording.introspection.push(entry.introspection);
    } else if (READ_METHODS.has(query.method) || (query.returning && query.returning.length > 0) ||
               READ_KEYWORDS.has(firstKeyword(query.sql))) {
      recording.reads.push(oneLine(sql));
    }
    if (inTransaction && connection && query.__knexUid !== connection) recording.outside.push(oneLine(sql));
    recording.entries.push(entry);
  }

  // The entry of a query that has just answered or failed: schema builder queries carry no uid, so
  // the first one of that text still waiting (identical texts in flight at once are interchangeable).
  settle(query) {
    const entry = this.active.recording.entries.find(
      (e) => !e.done && e.raw === query.sql && e.uid === query.__knexQueryUid);
    if (entry) entry.done = true;
    return entry;
  }

  // What hasTable/hasColumn answered, for the reviewer.
  onResponse(response, query) {
    if (!this.active) return;
    const entry = this.settle(query);
    if (!entry || !entry.introspection || typeof response !== 'boolean') return;
    const { introspection } = this.active.recording;
    const index = introspection.lastIndexOf(entry.introspection);
    entry.introspection = `${entry.introspection} was ${response}`;
    if (index >= 0) introspection[index] = entry.introspection;
  }

  onError(error, query) {
    if (!this.active) return;
    const entry = this.settle(query);
    if (entry) entry.failed = true;
    this.active.recording.failed.push(`${oneLine(entry ? entry.sql : query.sql)}: ${oneLine(firstLine(error), 200)}`);
  }
}

// hasTable('t') or hasColumn('t', 'c'), from the query knex's schema compiler made for it.
function describeIntrospection(query) {
  const values = (query.bindings || []).map((value) => `'${value}'`);
  if (/^select \* from information_schema\.tables/i.test(query.sql)) return `hasTable(${values[0]})`;
  if (/ and column_name = /i.test(query.sql)) return `hasColumn(${values.slice(0, 2).join(', ')})`;
  return `columnInfo(${values[0] || ''})`;
}

// An error's own message, without the SQL knex puts in front of it ("<sql> - <message>").
function firstLine(error) {
  let message = (error && error.message) || String(error);
  const knexPrefix = message.lastIndexOf(' - ');
  if (error && error.code && knexPrefix >= 0) message = message.slice(knexPrefix + 3);
  return message.split('\n')[0];
}

module.exports = { Recorder, oneLine, firstLine };
