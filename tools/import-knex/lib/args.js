// The command line: import-knex SOURCE_DIR [--out DIR] [--force] [--keep-scratch] [--server URL].
'use strict';

class UsageError extends Error {}

const USAGE = `usage: node tools/import-knex/import-knex.js SOURCE_DIR [--out DIR] [--force] [--keep-scratch] [--server URL]

Converts the knex migrations of SOURCE_DIR (.js, .cjs, .mjs) into migrate's .sql files of the same
names, by running each one with knex on a scratch database made for the run and dropped after it.

  --out DIR        where the .sql files go (default migrations/tenant)
  --force          replace .sql files that are already there (refused otherwise)
  --keep-scratch   leave the scratch database in place, to look at
  --server URL     the PostgreSQL server, as postgresql://user@host:port/database (default:
                   PGHOST, PGPORT, PGUSER, PGDATABASE). The password: PGPASSWORD or ~/.pgpass;
                   one written in the URL is seen by every user of the machine (ps).

Exit status: 0 converted; 1 a migration failed or was not converted; 2 usage error, nothing done.`;

// Never echoes the value of --server, which may hold a password.
function parseArgs(argv) {
  const args = { source: undefined, out: 'migrations/tenant', force: false, keepScratch: false, server: undefined,
                 help: false };
  const valueOf = (name, i, inline) => {
    if (inline !== undefined) return [inline, i];
    if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) throw new UsageError(`${name} needs a value`);
    return [argv[i + 1], i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (name === '--help' || name === '-h') args.help = true;
    else if (name === '--force' && inline === undefined) args.force = true;
    else if (name === '--keep-scratch' && inline === undefined) args.keepScratch = true;
    else if (name === '--out') [args.out, i] = valueOf(name, i, inline);
    else if (name === '--server') [args.server, i] = valueOf(name, i, inline);
    else if (arg.startsWith('-')) throw new UsageError(`unknown option ${name}`);
    else if (args.source === undefined) args.source = arg;
    else throw new UsageError(`one SOURCE_DIR only (${args.source} and ${arg} given)`);
  }
  if (!args.help && args.source === undefined) throw new UsageError('SOURCE_DIR is missing');
  if (args.out === '') throw new UsageError('--out needs a value');
  return args;
}

module.exports = { parseArgs, UsageError, USAGE };
