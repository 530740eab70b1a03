// Writes node_vectors.tsv: passwords encrypted the way existing fleets' Node code does it,
//   crypto.createCipheriv('aes-256-cbc', key, iv) with a random 16-byte IV, stored "<iv hex>:<ct hex>".
// Columns: key form (raw | hex), key, plaintext as hex, stored value. Run: node make_vectors.js > node_vectors.tsv
'use strict';
const crypto = require('crypto');

function encrypt(text, key) {
  const iv = crypto.randomBytes(16);
  const cipher = crypto.createCipheriv('aes-256-cbc', key, iv);
  const encrypted = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return iv.toString('hex') + ':' + encrypted.toString('hex');
}

const rawKey = 'your-32-character-secret-key!!!!';  // a 32-character string: its bytes are the key
const hexKey = crypto.createHash('sha256').update('migrate test vectors').digest('hex');
const passwords = [
  'simple',
  'p@ss/word:with@signs',
  "it's \"quoted\" and 'single'",
  'spaces in the middle  and end ',
  'colons:::and;semicolons;',
  'backslash\\and%percent&amp',
  'sixteen-bytes-xx',          // exactly one block of plaintext: padding adds a whole block
  'fifteen-bytes-x',
  'ünïcødé-пароль-密码-🔑',
  'x',
  'a'.repeat(200),
];

const lines = [];
for (const [form, key, keyBytes] of [['raw', rawKey, Buffer.from(rawKey)], ['hex', hexKey, Buffer.from(hexKey, 'hex')]]) {
  for (const password of passwords) {
    lines.push([form, key, Buffer.from(password, 'utf8').toString('hex'), encrypt(password, keyBytes)].join('\t'));
  }
}
process.stdout.write(lines.join('\n') + '\n');
