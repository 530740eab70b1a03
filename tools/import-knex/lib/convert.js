// One knex migration, run for real on the scratch database: up (recorded and kept), then down
// (recorded) and up again to see that down undoes up and that up says the same thing twice.
// A transactional migration's down and second up run in a transaction that is rolled back, so the
// next migration starts from exactly what the first up left, whatever down does. A migration with
// `config.transaction === false` runs outside any transaction, as knex runs it: down, then up again.
'use strict';
const { snapshot, sameSnapshot, describeDifference } = require('./snapshot');
const { firstLine } = require('./recorder');

class MigrationFailed extends Error {}

const ROLLBACK = Symbol('roll back the check');

function usesTransaction(migration) {
  return !(migration.config && migration.config.transaction === false);
}

// Runs up in a transaction, as knex's migrator does, recording inside it (not knex's BEGIN and
// COMMIT): a failure, COMMIT's included, is the recording's error.
async function upInTransaction(knex, recorder, migration) {
  let up = null;
  try {
    await knex.transaction(async (trx) => {
      up = await recorder.record(() => migration.up(trx), { inTransaction: true });
      if (up.error) throw up.error;
    });
  } catch (error) {
    if (!up) up = { error };
    up.error = up.error || error;
  }
  return up;
}

// Runs `migration` ({ file, up, down, config }) with `knex` on the scratch database and returns
// { up: [sql], down: [sql], transaction, reviews: [reason] }. Throws MigrationFailed when up fails,
// or when a migration outside a transaction leaves the scratch database in a state from which the
// next migration cannot be trusted.
async function convertMigration(knex, recorder, migration) {
  const transaction = usesTransaction(migration);
  const reviews = [];
  const before = await snapshot(knex);

  const up = transaction ? await upInTransaction(knex, recorder, migration) : await recorder.record(() => migration.up(knex));
  if (up.error) throw new MigrationFailed(`up fails: ${firstLine(up.error)}`);
  const afterUp = await snapshot(knex);

  let down = null;
  let afterDown = null;
  let again = null;
  let afterAgain = null;
  const hasDown = typeof migration.down === 'function';
  if (transaction) {
    await knex
      .transaction(async (trx) => {
        if (hasDown) {
          down = await recorder.record(() => migration.down(trx), { inTransaction: true });
          if (!down.error) afterDown = await snapshot(trx);
        }
        if (afterDown) {
          again = await recorder.record(() => migration.up(trx), { inTransaction: true });
          if (!again.error) afterAgain = await snapshot(trx);
        }
        throw ROLLBACK;
      })
      .catch((error) => {
        if (error !== ROLLBACK) throw error;
      });
  } else if (hasDown) {
    down = await recorder.record(() => migration.down(knex));
    afterDown = await snapshot(knex);
    if (!sameSnapshot(afterDown, afterUp)) {
      again = await recorder.record(() => migration.up(knex));
      afterAgain = again.error ? null : await snapshot(knex);
      if (!afterAgain || !sameSnapshot(afterAgain, afterUp)) {
        const why = again.error ? `up fails: ${firstLine(again.error)}`
                                : `the schema differs: ${describeDifference(afterUp, afterAgain)}`;
        throw new MigrationFailed(`transaction:false: after its down, up cannot be run again to go on (${why})`);
      }
    }
  }

  // What needs a person's eye, in the order a reviewer reads the file.
  if (up.introspection.length)
    reviews.push(`branches on the schema: ${up.introspection.join(', ')} on the scratch database, and the file holds ` +
                 'the SQL of that branch only; check it is right for every tenant');
  if (up.reads.length)
    reviews.push(`reads data (the scratch database had only what earlier migrations wrote): ${up.reads.join('; ')}`);
  if (up.outside.length)
    reviews.push(`up sends statements outside its transaction (it uses another knex than the one it is given): ` +
                 up.outside.join('; '));
  if (up.failed.length)
    reviews.push(`a statement of up failed and the migration went on; it is left out: ${up.failed.join('; ')}`);
  if (up.statements.length === 0)
    reviews.push('up runs no SQL (migrate refuses an empty up section: write the SQL, or SELECT 1; to keep a no-op)');

  if (!hasDown) {
    reviews.push('no down function: the down section is empty, so migrate will not roll it back');
  } else if (down.error) {
    reviews.push(`down fails: ${firstLine(down.error)}`);
  } else {
    if (down.statements.length === 0) reviews.push('down runs no SQL');
    if (down.introspection.length)
      reviews.push(`down branches on the schema: ${down.introspection.join(', ')} on the scratch database`);
    if (down.reads.length) reviews.push(`down reads data: ${down.reads.join('; ')}`);
    if (down.failed.length)
      reviews.push(`a statement of down failed and the migration went on; it is left out: ${down.failed.join('; ')}`);
    if (!sameSnapshot(before, afterDown))
      reviews.push(`down does not undo up: ${describeDifference(before, afterDown)}`);
  }
  if (again) {
    if (again.error) {
      reviews.push(`up fails when run again after down: ${firstLine(again.error)}`);
    } else {
      if (again.statements.join('\n') !== up.statements.join('\n'))
        reviews.push('up sends different SQL when run a second time (a time, a random value or a read in it?)');
      if (afterAgain && !sameSnapshot(afterAgain, afterUp))
        reviews.push(`up run again after down gives another schema: ${describeDifference(afterUp, afterAgain)}`);
    }
  }

  return { up: up.statements, down: down && !down.error ? down.statements : [], transaction, reviews };
}

module.exports = { convertMigration, MigrationFailed, usesTransaction };
