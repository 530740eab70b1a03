// What the command's tests share: import-knex.js run as a user runs it, scratch folders, and roles
// on the PostgreSQL server of the PG* environment (the cluster ctest runs with).
'use strict';
const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const pg = require('pg');

const TOOL = path.join(__dirname, '..', 'import-knex.js');

// Why a test that needs the server is skipped, or false when it runs.
const NO_SERVER = process.env.PGHOST ? false : 'PGHOST is unset: this test needs a PostgreSQL server (the PG* variables)';

// Runs import-knex with `args`; `env` goes on top of this process's environment (undefined removes
// a variable). Resolves to { code, out, err } once it has exited and its output is read.
function runTool(args, env = {}) {
  const merged = { ...process.env };
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete merged[name];
    else merged[name] = value;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TOOL, ...args], { env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => { out += chunk; });
    child.stderr.on('data', (chunk) => { err += chunk; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err, all: out + err }));
  });
}

// A folder removed when the test ends, holding `files` ({ name: text }).
function tempDir(t, files = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'import-knex-test-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

async function admin(work) {
  const client = new pg.Client();
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

// A login role that may create databases, with `password`, dropped when the test ends.
async function makeRole(t, password) {
  const name = `ik_test_${crypto.randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`CREATE ROLE ${name} LOGIN CREATEDB PASSWORD '${password.replace(/'/g, "''")}'`));
  t.after(() => admin((c) => c.query(`DROP ROLE IF EXISTS ${name}`)));
  return { name, password };
}

async function databasesOwnedBy(role) {
  const result = await admin((c) => c.query(
    'SELECT count(*)::int AS n FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = $1', [role.name]));
  return result.rows[0].n;
}

// --server for `role` on the PG* server (a socket folder in PGHOST goes in the URL's host parameter).
function serverUrl(role, password = role.password) {
  const host = process.env.PGHOST;
  const where = host.startsWith('/') ? `localhost:${process.env.PGPORT || 5432}/postgres?host=${encodeURIComponent(host)}`
                                     : `${host}:${process.env.PGPORT || 5432}/postgres`;
  return `postgresql://${role.name}:${encodeURIComponent(password)}@${where}`;
}

module.exports = { runTool, tempDir, makeRole, databasesOwnedBy, serverUrl, NO_SERVER };
