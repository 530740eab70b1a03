// The --out folder: checked before any database is touched, made only when there is something to
// write. Node's recursive mkdirSync loops forever under /proc (mkdir there answers ENOENT, which it
// reads as "make the parent first"), so the parents are looked at here and made one by one.
'use strict';
const fs = require('fs');
const path = require('path');

// Kernel file systems in which nobody makes folders.
const NOT_FOR_FILES = ['/proc', '/sys'];

function under(dir, root) {
  return dir === root || dir.startsWith(root + path.sep);
}

// Why `dir` (absolute) cannot be the output folder, or null when it can: it is a file, or the
// nearest part of it that exists is a file, is not writable, or is under /proc or /sys.
function outDirProblem(dir) {
  let existing = dir;
  let stat = null;
  for (;;) {
    try {
      stat = fs.statSync(existing);
      break;
    } catch (error) {
      // ENOTDIR: a part of the path is a file, which the walk up reaches.
      if (error.code !== 'ENOENT' && error.code !== 'ENOTDIR') return `cannot be used: ${error.message}`;
      if (path.dirname(existing) === existing) return 'cannot be used: its root does not exist';
      existing = path.dirname(existing);
    }
  }
  const root = NOT_FOR_FILES.find((r) => under(fs.realpathSync(existing), r));
  if (root) return `is under ${root}, where files cannot be written`;
  const subject = existing === dir ? '' : `cannot be made: ${existing} `;
  if (!stat.isDirectory()) return `${subject}is a file, not a folder`;
  try {
    fs.accessSync(existing, fs.constants.W_OK | fs.constants.X_OK);
  } catch (error) {
    return `${subject}is not writable`;
  }
  return null;
}

// Makes `dir` (absolute) and the parents it lacks, one at a time: an error is thrown, never a loop.
function makeOutDir(dir) {
  const missing = [];
  for (let at = dir; !fs.existsSync(at); at = path.dirname(at)) {
    if (path.dirname(at) === at) break;
    missing.unshift(at);
  }
  for (const at of missing) {
    try {
      fs.mkdirSync(at);
    } catch (error) {
      if (error.code !== 'EEXIST' || !fs.statSync(at).isDirectory()) throw error;
    }
  }
}

module.exports = { outDirProblem, makeOutDir };
