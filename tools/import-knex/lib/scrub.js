// Every line import-knex prints goes through a scrubber: the known passwords (of --server and
// PGPASSWORD) are replaced wherever they appear, and so is anything shaped like one (a URL's
// user:password@, a password=... setting), in case a message quotes a connection text.
'use strict';

function makeScrubber(secrets) {
  const known = [...new Set(secrets.filter((s) => typeof s === 'string' && s.length > 0))].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = String(text);
    for (const secret of known) out = out.split(secret).join('***');
    return out
      .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@')
      .replace(/(\bpassword\s*[=:]\s*)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s,;)}]+)/gi, '$1***');
  };
}

module.exports = { makeScrubber };
