// --out is checked before any database is touched: a file, or a folder that cannot be made, is
// refused. Run: node --test tools/import-knex/test/out-dir.test.js (ctest: import_knex.out_dir).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const net = require('net');
const path = require('path');
const { outDirProblem, makeOutDir } = require('../lib/out-dir');
const { runTool, tempDir } = require('./run');

test('a folder, or one that can be made under a folder, is fine; makeOutDir makes it', (t) => {
  const dir = tempDir(t);
  assert.strictEqual(outDirProblem(dir), null);
  const deep = path.join(dir, 'a', 'b', 'c');
  assert.strictEqual(outDirProblem(deep), null);
  makeOutDir(deep);
  assert.ok(fs.statSync(deep).isDirectory());
  makeOutDir(deep);  // already there: fine
});

test('a file, a path through a file, and paths under /proc or /sys are refused with the reason', (t) => {
  const dir = tempDir(t, { 'a-file': 'x' });
  const file = path.join(dir, 'a-file');
  assert.strictEqual(outDirProblem(file), 'is a file, not a folder');
  assert.strictEqual(outDirProblem(path.join(file, 'sub', 'dir')), `cannot be made: ${file} is a file, not a folder`);
  assert.strictEqual(outDirProblem('/proc/nope'), 'is under /proc, where files cannot be written');
  assert.strictEqual(outDirProblem('/sys/kernel/nope/x'), 'is under /sys, where files cannot be written');
  assert.strictEqual(outDirProblem('/proc/self'), 'is under /proc, where files cannot be written');
  assert.throws(() => makeOutDir('/proc/nope/x'), /ENOENT|EACCES|EPERM|EEXIST/);
});

test('a folder that is not writable is refused', { skip: process.getuid && process.getuid() === 0 && 'root may write anywhere' },
     (t) => {
       const dir = tempDir(t);
       fs.chmodSync(dir, 0o500);
       t.after(() => fs.chmodSync(dir, 0o700));
       assert.match(outDirProblem(path.join(dir, 'out')), new RegExp(`^cannot be made: ${dir} is not writable`));
     });

// A server that counts connections: import-knex must refuse --out before it connects to anything.
async function countingServer(t) {
  const server = net.createServer((socket) => {
    server.connections += 1;
    socket.destroy();
  });
  server.connections = 0;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return server;
}

test('import-knex refuses an unusable --out with exit 2 before it connects to the server', async (t) => {
  const source = tempDir(t, {
    '20250101000001_create_a.js': "exports.up = (knex) => knex.schema.createTable('a', (t) => t.increments());\n" +
                                  "exports.down = (knex) => knex.schema.dropTable('a');\n",
  });
  const dir = tempDir(t, { 'a-file': 'x' });
  const server = await countingServer(t);
  const env = { PGHOST: '127.0.0.1', PGPORT: String(server.address().port), PGDATABASE: 'postgres' };
  const cases = [
    [path.join(dir, 'a-file'), 'is a file, not a folder'],
    [path.join(dir, 'a-file', 'out'), `cannot be made: ${path.join(dir, 'a-file')} is a file, not a folder`],
    ['/proc/nope', 'is under /proc, where files cannot be written'],
  ];
  for (const [out, reason] of cases) {
    const result = await runTool([source, '--out', out], env);
    assert.strictEqual(result.code, 2, result.all);
    assert.strictEqual(result.err, `import-knex: --out ${out} ${reason}; nothing was done\n`);
    assert.strictEqual(result.out, '');
  }
  await new Promise((resolve) => setImmediate(resolve));  // a connection made before the exit is counted by now
  assert.strictEqual(server.connections, 0);
  assert.strictEqual(fs.readFileSync(path.join(dir, 'a-file'), 'utf8'), 'x');
});
