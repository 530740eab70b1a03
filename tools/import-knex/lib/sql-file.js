// The .sql file of a converted migration, in migrate's (dbmate's) format, and the checks on its
// name that migrate makes when it reads the folder.
'use strict';
const { terminate } = require('./sql-text');
const { oneLine } = require('./recorder');

const MIGRATE_NAME = /^(\d{14})_[a-z0-9]+(_[a-z0-9]+)*\.sql$/;
const DIRECTIVE = /^--\s*migrate:/m;

// Reasons to review that come from the SQL text or the file name rather than from running it.
function textReviews(sqlName, result) {
  const reviews = [];
  if (!MIGRATE_NAME.test(sqlName))
    reviews.push(`${sqlName} is not named as migrate wants (YYYYMMDDHHMMSS_snake_case.sql): migrate refuses the ` +
                 'folder until it is renamed');
  if ([...result.up, ...result.down].some((sql) => DIRECTIVE.test(sql)))
    reviews.push('a statement holds a line that starts with -- migrate:, which migrate reads as a section marker');
  return reviews;
}

// Names of `sqlNames` that share their 14-digit timestamp with another: migrate refuses those.
function sharedTimestamps(sqlNames) {
  const byVersion = new Map();
  for (const name of sqlNames) {
    const match = MIGRATE_NAME.exec(name);
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
