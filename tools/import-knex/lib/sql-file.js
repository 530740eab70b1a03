// The .sql file of a converted migration, in migrate's (dbmate's) format, and the checks on its
// name that migrate makes when it reads the folder.
'use strict';
const { terminate, scan, firstKeyword } = require('./sql-text');
const { oneLine } = require('./recorder');

// migrate reads knex's names too: a 14-digit timestamp, _, then letters, digits, _ and -.
const MIGRATE_NAME = /^(\d{14})_[A-Za-z0-9_-]+\.sql$/;
const DIRECTIVE = /^--\s*migrate:/m;
const TIMESTAMP = /^(\d{14})(?!\d)/;
const SCHEMA_CHANGES = new Set(['CREATE', 'DROP', 'ALTER']);

// The words of `sql` outside strings, quoted names and comments, upper-cased, as one text.
function wordsOf(sql) {
  const words = [];
  scan(sql, (kind, start, end) => {
    if (kind === 'word') words.push(sql.slice(start, end).toUpperCase());
  });
  return ` ${words.join(' ')} `;
}

// A CREATE, DROP or ALTER that fails or does it twice when run again: one without IF [NOT] EXISTS
// (CREATE OR REPLACE is fine). A transaction:false section is not rolled back by a crash, so
// migrate's README asks it to be safe to run again.
function notRetriable(sql) {
  if (!SCHEMA_CHANGES.has(firstKeyword(sql))) return false;
  const words = wordsOf(sql);
  return !/ IF (NOT )?EXISTS /.test(words) && !/^ CREATE OR REPLACE /.test(words);
}

// Reasons to review that come from the SQL text or the file name rather than from running it.
function textReviews(sqlName, result) {
  const reviews = [];
  if (!MIGRATE_NAME.test(sqlName))
    reviews.push(`${sqlName} is not named as migrate wants (YYYYMMDDHHMMSS_name.sql, the name of letters, digits, _ and -): migrate refuses the ` +
                 'folder until it is renamed');
  if ([...result.up, ...result.down].some((sql) => DIRECTIVE.test(sql)))
    reviews.push('a statement holds a line that starts with -- migrate:, which migrate reads as a section marker');
  if (!result.transaction) {
    const risky = [...result.up.filter(notRetriable).map((sql) => oneLine(sql)),
                   ...result.down.filter(notRetriable).map((sql) => `down: ${oneLine(sql)}`)];
    if (risky.length)
      reviews.push('transaction:false: a statement without IF [NOT] EXISTS cannot be retried safely if the run is ' +
                   `interrupted: ${risky.join('; ')}`);
  }
  return reviews;
}

// Names of `sqlNames` that share their 14-digit timestamp with another, whatever the rest of their
// names: migrate refuses those.
function sharedTimestamps(sqlNames) {
  const byVersion = new Map();
  for (const name of sqlNames) {
    const match = TIMESTAMP.exec(name);
    if (!match) continue;
    byVersion.set(match[1], [...(byVersion.get(match[1]) || []), name]);
  }
  return new Set([...byVersion.values()].filter((names) => names.length > 1).flat());
}

// The file's text: a header naming the source, the reasons to review, then both sections.
function sqlFileText({ sourceName, date, result, reviews }) {
  const lines = [`-- Converted from ${sourceName} by import-knex on ${date}.`];
  for (const reason of reviews) lines.push(`-- REVIEW: ${oneLine(reason, 2000)}`);
  const mode = result.transaction ? '' : ' transaction:false';
  lines.push(`-- migrate:up${mode}`);
  if (result.up.length === 0) lines.push('-- knex sent no SQL for up');
  for (const sql of result.up) lines.push(terminate(sql));
  lines.push('', `-- migrate:down${mode}`);
  if (result.down.length === 0) lines.push('-- knex sent no SQL for down');
  for (const sql of result.down) lines.push(terminate(sql));
  return lines.join('\n') + '\n';
}

module.exports = { sqlFileText, textReviews, sharedTimestamps, MIGRATE_NAME };
