// The PostgreSQL server the conversion runs on, and the scratch database made on it for one run.
// The connection comes from --server (a postgresql:// URL) or libpq's variables, which node-pg reads
// itself (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE); the password, when neither
// gives one, from ~/.pgpass (or PGPASSFILE), read here.
'use strict';
const crypto = require('crypto');
const pg = require('pg');
const ConnectionParameters = require('pg/lib/connection-parameters');
const pgpass = require('pgpass');
const { parse } = require('pg-connection-string');

class ServerError extends Error {}

// node-pg settings for the server's maintenance database: the URL's database, else PGDATABASE,
// else postgres. Throws ServerError (without the URL, which may hold a password) when it does not parse.
function serverSettings(url) {
  if (url === undefined) return { database: process.env.PGDATABASE || 'postgres', connectionTimeoutMillis: 15000 };
  if (!/^postgres(ql)?:\/\//i.test(url)) throw new ServerError('--server must be a postgresql:// URL');
  let settings;
  try {
    settings = { ...parse(url) };
  } catch (error) {
    throw new ServerError('--server is not a valid postgresql:// URL');
  }
  if (!settings.database) settings.database = 'postgres';
  if (settings.port !== undefined && settings.port !== null) settings.port = Number(settings.port);
  settings.connectionTimeoutMillis = 15000;
  return settings;
}

// `settings` with the password of ~/.pgpass (or PGPASSFILE) for this server, user and database when
// neither --server nor PGPASSWORD gives one. Read here rather than left to node-pg, which prints a
// deprecation notice when it reads the file, and so that the password is known, to be masked,
// before anything is printed.
async function withPgpass(settings) {
  const resolved = new ConnectionParameters(settings);
  if (resolved.password) return settings;
  const password = await new Promise((resolve) => pgpass(resolved, resolve));
  return typeof password === 'string' && password ? { ...settings, password } : settings;
}

// The password the connection uses, which must never be printed: the one in --server (as written
// and decoded), else PGPASSWORD, in node-pg's order (a URL without a password falls back to
// PGPASSWORD). Only that one: PGPASSWORD is not masked when --server brings its own password.
// One from ~/.pgpass is known once read (withPgpass).
function secretsOf(url, env = process.env) {
  if (url) {
    const written = /^[a-z]+:\/\/[^:@/]*:([^@/]*)@/i.exec(url);
    if (written && written[1]) {
      const secrets = [written[1]];
      try {
        secrets.push(decodeURIComponent(written[1]));
      } catch (ignored) {
        // Not valid percent-encoding: the text as written is the secret.
      }
      return secrets;
    }
  }
  return env.PGPASSWORD ? [env.PGPASSWORD] : [];
}

async function connect(settings) {
  const client = new pg.Client(settings);
  client.on('error', () => {});  // a connection lost while idle is seen at the next query
  await client.connect();
  return client;
}

class Server {
  constructor(settings) {
    this.settings = settings;
    this.version = 0;
    this.scratch = null;
  }

  // Where and as whom, for the output (never the password).
  describe() {
    return `${this.host}:${this.port} as ${this.user}`;
  }

  // Connects to the maintenance database and creates the scratch database, named import_knex_<random>.
  async createScratch() {
    let admin;
    try {
      admin = await connect(this.settings);
    } catch (error) {
      throw new ServerError(`cannot connect to the server: ${error.message}`);
    }
    try {
      this.host = admin.host;
      this.port = admin.port;
      this.user = admin.user;
      this.version = Number((await admin.query('SHOW server_version_num')).rows[0].server_version_num);
      if (this.version < 120000)
        throw new ServerError('the server is older than PostgreSQL 12, which import-knex needs for its scratch database');
      const name = `import_knex_${crypto.randomBytes(6).toString('hex')}`;
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } catch (error) {
        throw new ServerError(`cannot create the scratch database: ${error.message}`);
      }
      this.scratch = name;
      return name;
    } finally {
      await admin.end().catch(() => {});
    }
  }

  // knex settings for the scratch database.
  scratchConnection() {
    return { ...this.settings, database: this.scratch };
  }

  // Drops the scratch database, ending any session still in it first (the one of a migration cut
  // short by Ctrl-C, too). Safe to call when there is none.
  async dropScratch() {
    if (!this.scratch) return;
    const admin = await connect(this.settings);
    try {
      if (this.version >= 130000) {
        await admin.query(`DROP DATABASE IF EXISTS ${this.scratch} WITH (FORCE)`);
      } else {
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
                          [this.scratch]);
        await admin.query(`DROP DATABASE IF EXISTS ${this.scratch}`);
      }
      this.scratch = null;
    } finally {
      await admin.end().catch(() => {});
    }
  }
}

module.exports = { Server, ServerError, serverSettings, secretsOf, withPgpass };
