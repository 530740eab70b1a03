// What teams run today: query the active tenants, decrypt each password, and run
// knex.migrate.latest() on each tenant, one after another.
// Needs CENTRAL_DATABASE_URL and DB_ENCRYPTION_KEY (a 32-character key).
'use strict';
const crypto = require('crypto');
const path = require('path');
const knexFactory = require('knex');

function decrypt(stored, key) {
  const [ivHex, ctHex] = stored.split(':');
  const decipher = crypto.createDecipheriv('aes-256-cbc', Buffer.from(key), Buffer.from(ivHex, 'hex'));
  return Buffer.concat([decipher.update(Buffer.from(ctHex, 'hex')), decipher.final()]).toString('utf8');
}

async function main() {
  const central = knexFactory({ client: 'pg', connection: process.env.CENTRAL_DATABASE_URL });
  const tenants = await central('tenants').where({ status: 'active' }).orderBy('slug');
  await central.destroy();
  let migrated = 0, upToDate = 0, failed = 0;
  for (const tenant of tenants) {
    const knex = knexFactory({
      client: 'pg',
      connection: {
        host: tenant.db_host, port: tenant.db_port, database: tenant.db_name, user: tenant.db_user,
        password: decrypt(tenant.db_password_encrypted, process.env.DB_ENCRYPTION_KEY),
      },
      pool: { min: 0, max: 1 },
    });
    try {
      const [, names] = await knex.migrate.latest({ directory: path.join(__dirname, 'migrations') });
      if (names.length > 0) migrated++; else upToDate++;
    } catch (error) {
      failed++;
      console.error(`${tenant.slug}: ${error.message}`);
    } finally {
      await knex.destroy();
    }
  }
  console.log(`knex: ${tenants.length} tenants: ${migrated} migrated, ${upToDate} up to date, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((error) => { console.error(error.message); process.exit(1); });
