#!/usr/bin/env node
// import-knex: converts a folder of knex migrations into migrate's .sql files of the same names,
// by running each with the real knex on a scratch database and recording the SQL knex sends.
// See the README's "Converting knex migrations".
'use strict';
const fs = require('fs');
const path = require('path');
const Knex = require('knex');
const importFile = require('knex/lib/migrations/util/import-file');

const { parseArgs, UsageError, USAGE } = require('./lib/args');
const { Server, ServerError, serverSettings, secretsOf, withPgpass } = require('./lib/server');
const { Recorder, firstLine, oneLine } = require('./lib/recorder');
const { convertMigration, MigrationFailed } = require('./lib/convert');
const { sqlFileText, textReviews, sharedTimestamps } = require('./lib/sql-file');
const { makeScrubber } = require('./lib/scrub');
const { outDirProblem, makeOutDir } = require('./lib/out-dir');

const LOADED = new Set(['.js', '.cjs', '.mjs']);
const NOT_LOADED = new Set(['.ts']);

let scrub = (text) => String(text);
const print = (line = '') => process.stdout.write(scrub(line) + '\n');
const complain = (line) => process.stderr.write(`import-knex: ${scrub(line)}\n`);

// The migration files of `source` in name order, as { file, base, ext }. Throws UsageError when
// there is none, or when two share a base name (X.js and X.mjs would both become X.sql).
function listMigrations(source) {
  let names;
  try {
    names = fs.readdirSync(source, { withFileTypes: true });
  } catch (error) {
    throw new UsageError(`cannot read SOURCE_DIR ${source}: ${error.code === 'ENOENT' ? 'no such folder' : error.message}`);
  }
  const files = names
    .filter((entry) => entry.isFile() && (LOADED.has(path.extname(entry.name)) || NOT_LOADED.has(path.extname(entry.name))))
    .map((entry) => ({ file: entry.name, ext: path.extname(entry.name), base: path.basename(entry.name, path.extname(entry.name)) }))
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  if (!files.some((f) => LOADED.has(f.ext))) throw new UsageError(`no knex migrations (.js, .cjs, .mjs) in ${source}`);
  const seen = new Map();
  for (const f of files) {
    if (seen.has(f.base)) throw new UsageError(`${seen.get(f.base)} and ${f.file} would both become ${f.base}.sql`);
    seen.set(f.base, f.file);
  }
  return files;
}

// Loads each module as knex's migrator does (require, or import() for ES modules). Throws
// UsageError naming the file when one does not load or has no up function.
async function loadMigrations(source, files) {
  for (const f of files) {
    if (!LOADED.has(f.ext)) continue;
    let module;
    try {
      module = await importFile(path.join(source, f.file));
    } catch (error) {
      throw new UsageError(`cannot load ${f.file}: ${firstLine(error)}`);
    }
    if (!module || typeof module.up !== 'function') throw new UsageError(`${f.file} exports no up function`);
    f.migration = { file: f.file, up: module.up, down: module.down, config: module.config };
  }
}

// Converts every migration; returns the exit status. Writes the files only when none failed.
async function convertAll(args, source, files, server, state) {
  const knex = Knex({ client: 'pg', connection: server.scratchConnection(), pool: { min: 0, max: 4 } });
  state.knex = knex;
  const recorder = new Recorder(knex);
  const date = new Date().toISOString().slice(0, 10);
  const converted = [];
  const notConverted = [];
  for (const f of files) {
    if (!LOADED.has(f.ext)) {
      notConverted.push(f.file);
      print(`not converted  ${f.file}: TypeScript is not loaded; compile it to JavaScript (tsc) and convert that`);
      continue;
    }
    state.current = f.file;
    let result;
    try {
      result = await convertMigration(knex, recorder, f.migration);
    } catch (error) {
      if (state.interrupted) return 1;
      const reason = error instanceof MigrationFailed ? error.message : firstLine(error);
      print(`FAILED         ${f.file}: ${reason}`);
      print();
      print(`Stopped at ${f.file}: nothing was written.`);
      return 1;
    }
    const sqlName = `${f.base}.sql`;
    const reviews = [...result.reviews, ...textReviews(sqlName, result)];
    converted.push({ f, sqlName, result, reviews });
    print(reviews.length ? `needs review   ${f.file}: ${oneLine(reviews.join('; '), 300)}` : `converted      ${f.file}`);
  }
  state.current = null;

  const shared = sharedTimestamps(converted.map((c) => c.sqlName));
  for (const c of converted)
    if (shared.has(c.sqlName)) c.reviews.push('another file has the same timestamp: migrate refuses the folder until one is renamed');

  makeOutDir(args.outDir);
  for (const c of converted) {
    const text = sqlFileText({ sourceName: c.f.file, date, result: c.result, reviews: c.reviews });
    const target = path.join(args.outDir, c.sqlName);
    if (args.force) {
      const temporary = path.join(args.outDir, `.${c.sqlName}.${process.pid}.tmp`);
      fs.writeFileSync(temporary, text);
      fs.renameSync(temporary, target);
    } else {
      fs.writeFileSync(target, text, { flag: 'wx' });
    }
  }

  const review = converted.filter((c) => c.reviews.length);
  print();
  print(`Wrote ${converted.length} file${converted.length === 1 ? '' : 's'} to ${args.out}: ` +
        `${converted.length - review.length} converted, ${review.length} need${review.length === 1 ? 's' : ''} review` +
        (notConverted.length ? `, ${notConverted.length} not converted` : '') + '.');
  if (review.length) {
    print('Needs review (each file says why in its -- REVIEW lines):');
    for (const c of review) print(`  ${c.sqlName}: ${oneLine(c.reviews.join('; '), 400)}`);
  }
  if (notConverted.length) {
    print(`Not converted: ${notConverted.join(', ')}`);
    return 1;
  }
  return 0;
}

async function main(argv) {
  let args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    complain(error.message);
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    print(USAGE);
    return 0;
  }
  const secrets = secretsOf(args.server);
  scrub = makeScrubber(secrets);

  // Everything that can be refused is refused before any database is touched.
  const source = path.resolve(args.source);
  args.outDir = path.resolve(args.out);
  let files;
  let settings;
  try {
    files = listMigrations(source);
    const outProblem = outDirProblem(args.outDir);
    if (outProblem) throw new UsageError(`--out ${args.out} ${outProblem}; nothing was done`);
    const existing = files.filter((f) => LOADED.has(f.ext) && fs.existsSync(path.join(args.outDir, `${f.base}.sql`)));
    if (existing.length && !args.force)
      throw new UsageError(`refusing to overwrite ${existing.map((f) => path.join(args.out, `${f.base}.sql`)).join(', ')} ` +
                           '(pass --force to replace them); nothing was done');
    await loadMigrations(source, files);
    settings = await withPgpass(serverSettings(args.server));
    scrub = makeScrubber([...secrets, settings.password]);
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof ServerError)) throw error;
    complain(error.message);
    return 2;
  }

  const server = new Server(settings);
  const state = { interrupted: false, current: null, knex: null, cleanup: null };
  // Idempotent: the normal end, an error and a signal all come here, and only the first one runs it.
  const cleanup = () => {
    if (!state.cleanup) {
      state.cleanup = (async () => {
        if (args.keepScratch && server.scratch) {
          print(`Kept the scratch database ${server.scratch} (drop it with: DROP DATABASE ${server.scratch};)`);
          return true;
        }
        try {
          await server.dropScratch();
          return true;
        } catch (error) {
          complain(`could not drop the scratch database ${server.scratch}: ${firstLine(error)}; drop it by hand`);
          return false;
        }
      })();
    }
    return state.cleanup;
  };
  installStopHandlers(state, cleanup, server);

  try {
    try {
      await server.createScratch();
    } catch (error) {
      if (!(error instanceof ServerError)) throw error;
      complain(error.message);
      return 2;
    }
    print(`import-knex: ${files.length} migration${files.length === 1 ? '' : 's'} in ${args.source}, ` +
          `scratch database ${server.scratch} on ${server.describe()}`);
    return await convertAll(args, source, files, server, state);
  } finally {
    if (state.knex) await state.knex.destroy().catch(() => {});
    if (!state.interrupted && !(await cleanup())) process.exitCode = 1;
  }
}

// Ctrl-C (SIGINT), SIGTERM and SIGHUP drop the scratch database (ending the migration in flight)
// and exit 128 + the signal; a second signal exits at once. An error thrown by a migration's code
// outside its promise (an un-awaited query) ends the run as a failure, with the same clean-up.
function installStopHandlers(state, cleanup, server) {
  const codes = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
  for (const [signal, code] of Object.entries(codes)) {
    process.on(signal, () => {
      if (state.interrupted) process.exit(code);
      state.interrupted = true;
      complain(`interrupted${state.current ? ` in ${state.current}` : ''}: dropping the scratch database ` +
               `${server.scratch || ''}; nothing was written`);
      cleanup().finally(() => process.exit(code));
    });
  }
  const fatal = (error) => {
    if (state.interrupted) return;
    state.interrupted = true;
    complain(`${state.current ? `${state.current}: ` : ''}an error outside the migration's promise: ${firstLine(error)}; ` +
             'nothing was written');
    cleanup().finally(() => process.exit(1));
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
}

main(process.argv.slice(2)).then(
  (status) => {
    if (process.exitCode === undefined || process.exitCode === 0) process.exitCode = status;
  },
  (error) => {
    complain(`unexpected error: ${firstLine(error)}`);
    process.exitCode = 1;
  });
