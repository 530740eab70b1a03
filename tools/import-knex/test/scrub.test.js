// The scrubber every printed line goes through: the password is masked wherever it appears, one of
// 1 to 3 characters only where it stands as a whole word. Run: node --test
// tools/import-knex/test/scrub.test.js (ctest: import_knex.scrub).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { makeScrubber } = require('../lib/scrub');

test('a password of 4 characters or more is masked wherever it appears, inside words too', () => {
  const scrub = makeScrubber(['pw-s3cret']);
  assert.strictEqual(scrub('relation "xpw-s3cretx" does not exist: pw-s3cret'), 'relation "x***x" does not exist: ***');
  assert.strictEqual(makeScrubber(['knex'])('import-knex: 1 migration'), 'import-***: 1 migration');
});

test('a password of 1 to 3 characters is masked only as a whole word, so other words stay readable', () => {
  const scrub = makeScrubber(['e']);
  assert.strictEqual(scrub('import-knex: scratch database import_knex_3f9e on h:5432 as e'),
                     'import-knex: scratch database import_knex_3f9e on h:5432 as ***');
  assert.strictEqual(scrub('relation "e" does not exist; e.x; (e)'), 'relation "***" does not exist; ***.x; (***)');
  assert.strictEqual(makeScrubber(['a.b'])('a.b x.a.bc a.b'), '*** x.a.bc ***');
  assert.strictEqual(makeScrubber(['é'])('café é'), 'café ***');
});

test('characters special in patterns are matched as themselves', () => {
  assert.strictEqual(makeScrubber(['a$1(*']) ('say a$1(* twice: a$1(*'), 'say *** twice: ***');
  assert.strictEqual(makeScrubber(['.'])('a.b .'), 'a.b ***');
});

test('no secret, nothing masked but what looks like a password in a URL or a setting', () => {
  const scrub = makeScrubber([undefined, '', null]);
  assert.strictEqual(scrub('import-knex as e'), 'import-knex as e');
  assert.strictEqual(scrub('postgresql://u:hidden@h/db password=x'), 'postgresql://u:***@h/db password=***');
});
