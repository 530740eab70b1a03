// SQL text as PostgreSQL reads it: knex sends bound values as $1, $2 ... parameters, and a .sql file
// needs them written in as literals. The server sees a parameter only outside strings, quoted
// identifiers, dollar quotes and comments, so this walks the text the way its lexer does.
'use strict';
const { prepareValue } = require('pg/lib/utils');

const identStart = /[A-Za-z_\u0080-\uffff]/;
const identPart = /[A-Za-z0-9_$\u0080-\uffff]/;

// Calls `onToken(kind, start, end)` for each stretch of `sql`: 'param' ($n), 'line-comment',
// 'block-comment', 'string', 'ident', 'dollar', 'word' or 'other' (one character). Stops early
// when `onToken` returns false.
function scan(sql, onToken) {
  let i = 0;
  const n = sql.length;
  let go = true;
  const emit = (kind, start, end) => { go = onToken(kind, start, end) !== false; };
  while (i < n && go) {
    const c = sql[i];
    const start = i;
    if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
      emit('line-comment', start, i);
    } else if (c === '/' && sql[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') { depth++; i += 2; }
        else if (sql[i] === '*' && sql[i + 1] === '/') { depth--; i += 2; }
        else i++;
      }
      emit('block-comment', start, i);
    } else if (c === "'" || ((c === 'E' || c === 'e') && sql[i + 1] === "'")) {
      const escapes = c !== "'";
      i += escapes ? 2 : 1;
      while (i < n) {
        if (escapes && sql[i] === '\\') { i += 2; continue; }
        if (sql[i] === "'") {
          if (sql[i + 1] === "'") { i += 2; continue; }
          i++;
          break;
        }
        i++;
      }
      emit('string', start, i);
    } else if (c === '"') {
      i++;
      while (i < n) {
        if (sql[i] === '"') {
          if (sql[i + 1] === '"') { i += 2; continue; }
          i++;
          break;
        }
        i++;
      }
      emit('ident', start, i);
    } else if (c === '$' && /[0-9]/.test(sql[i + 1] || '')) {
      i++;
      while (i < n && /[0-9]/.test(sql[i])) i++;
      emit('param', start, i);
    } else if (c === '$') {
      const tag = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(i));
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        i = close < 0 ? n : close + tag[0].length;
        emit('dollar', start, i);
      } else {
        i++;
        emit('other', start, i);
      }
    } else if (identStart.test(c)) {
      // A word swallows any $ inside it: foo$1 is an identifier, not foo and a parameter.
      i++;
      while (i < n && identPart.test(sql[i])) i++;
      emit('word', start, i);
    } else if (/[0-9]/.test(c)) {
      i++;
      while (i < n && /[0-9A-Za-z_.]/.test(sql[i])) i++;
      emit('word', start, i);
    } else {
      i++;
      emit('other', start, i);
    }
  }
}

// A string literal: quotes doubled; E'' with doubled backslashes when it holds a backslash, so it
// reads the same whatever standard_conforming_strings says.
function quoteString(text) {
  const quoted = text.replace(/'/g, "''");
  return text.includes('\\') ? `E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}

// The literal that stands for a bound value. node-pg sends every parameter as text of unspecified
// type, as prepareValue() makes it (a Date in ISO form with its offset, an array as a PostgreSQL
// array, an object as JSON); a quoted string of that text is read by the server the same way.
// Numbers and booleans are written bare, for the reader; a negative number in parentheses, so
// that `5 -$1` cannot become a comment.
function literal(value) {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint') {
    const text = String(value);
    return text.startsWith('-') ? `(${text})` : text;
  }
  const prepared = prepareValue(value);
  if (prepared === null || prepared === undefined) return 'NULL';
  if (Buffer.isBuffer(prepared)) return `'\\x${prepared.toString('hex')}'::bytea`;
  return quoteString(String(prepared));
}

// `sql` with each $n replaced by the literal of bindings[n-1]. Throws when a parameter has no value.
function inlineBindings(sql, bindings) {
  if (!bindings || bindings.length === 0) return sql;
  let out = '';
  let last = 0;
  scan(sql, (kind, start, end) => {
    if (kind !== 'param') return;
    const index = Number(sql.slice(start + 1, end)) - 1;
    if (index < 0 || index >= bindings.length) throw new Error(`no value bound for ${sql.slice(start, end)}`);
    let value = literal(bindings[index]);
    if (start > 0 && identPart.test(sql[start - 1])) value = ' ' + value;
    out += sql.slice(last, start) + value;
    last = end;
  });
  return out + sql.slice(last);
}

// The statement as it goes into a .sql file: trimmed, ending with exactly one `;` that is not
// inside a trailing line comment.
function terminate(sql) {
  const text = sql.trim();
  let lastKind = null;
  let lastSignificant = null;
  scan(text, (kind, start, end) => {
    lastKind = kind;
    if (!/^\s+$/.test(text.slice(start, end)) && kind !== 'line-comment' && kind !== 'block-comment')
      lastSignificant = text.slice(start, end);
  });
  if (lastSignificant === ';') return text;
  return lastKind === 'line-comment' ? `${text}\n;` : `${text};`;
}

// The first keyword of a statement, upper-cased, comments and parentheses skipped ('' when none).
function firstKeyword(sql) {
  let keyword = '';
  scan(sql, (kind, start, end) => {
    if (kind !== 'word') return true;
    keyword = sql.slice(start, end).toUpperCase();
    return false;
  });
  return keyword;
}

module.exports = { scan, literal, quoteString, inlineBindings, terminate, firstKeyword };
