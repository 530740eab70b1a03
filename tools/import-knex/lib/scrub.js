// Every line import-knex prints goes through a scrubber: the password the connection uses is
// replaced wherever it appears (server error texts quote what they were sent), and so is anything
// shaped like one (a URL's user:password@, a password=... setting), in case a message quotes a
// connection text. A password of 1 to 3 characters is replaced only where it stands as a whole
// word: `e` inside `import-knex` is not the password.
'use strict';

const SHORT = 3;
const WORD = '[\\p{L}\\p{N}_]';

function escapeForPattern(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function patternOf(secret) {
  const text = escapeForPattern(secret);
  return new RegExp([...secret].length <= SHORT ? `(?<!${WORD})${text}(?!${WORD})` : text, 'gu');
}

function makeScrubber(secrets) {
  const known = [...new Set(secrets.filter((s) => typeof s === 'string' && s.length > 0))]
    .sort((a, b) => b.length - a.length)
    .map(patternOf);
  return (text) => {
    let out = String(text);
    for (const pattern of known) out = out.replace(pattern, () => '***');
    return out
      .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@')
      .replace(/(\bpassword\s*[=:]\s*)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s,;)}]+)/gi, '$1***');
  };
}

module.exports = { makeScrubber };
