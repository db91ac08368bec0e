import { drizzle } from 'drizzle-orm/node-postgres';
import { sql } from 'drizzle-orm';
import { integer, pgTable, serial, text } from 'drizzle-orm/pg-core';
import knex from 'knex';
import { CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pgClientDb } from '../src/db/pg.ts';
import { enqueue, executorDb, templateDb, type Db } from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

/**
 * The outbox pattern: a task enqueued inside the app's own transaction exists exactly when the app's write
 * does. Each ORM's recipe (as the README gives it) commits one order and rolls another back.
 */
const orders = pgTable('orders', { id: serial('id').primaryKey(), item: text('item').notNull(), qty: integer('qty').notNull() });

let tdb: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  tdb = await createTestDatabase();
  pool = new pg.Pool({ connectionString: tdb.url, max: 4 });
  await pool.query('CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL, qty int NOT NULL)');
});
afterAll(async () => {
  await pool?.end();
  await tdb?.drop();
});
beforeEach(async () => {
  await pool.query('TRUNCATE orders, task_runs RESTART IDENTITY');
});

const ship = (db: Db, item: string) => enqueue(db, { taskPath: 'shop.tasks.ship', kwargs: { item } });
const state = async () => ({
  orders: (await pool.query('SELECT item FROM orders ORDER BY id')).rows.map((r) => r.item),
  tasks: (await pool.query(`SELECT spec_json->'kwargs'->>'item' AS item FROM task_runs ORDER BY result_id`)).rows.map((r) => r.item),
});
const rolledBack = new Error('roll back');

/** Runs `place` for a committed order and a rolled-back one, and checks only the first left a task. */
async function outbox(place: (item: string, rollback: boolean) => Promise<void>) {
  await place('kept', false);
  await expect(place('dropped', true)).rejects.toThrow();
  expect(await state()).toEqual({ orders: ['kept'], tasks: ['kept'] });
}

describe('enqueue inside the application transaction', () => {
  it('pg: pgClientDb over the client in BEGIN', async () => {
    await outbox(async (item, rollback) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('INSERT INTO orders (item, qty) VALUES ($1, 1)', [item]);
        await ship(pgClientDb(client), item);
        if (rollback) throw rolledBack;
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      } finally {
        client.release();
      }
    });
  });

  it('Kysely: executorDb over trx.executeQuery', async () => {
    const db = new Kysely<{ orders: { id: number; item: string; qty: number } }>({ dialect: new PostgresDialect({ pool }) });
    await outbox((item, rollback) =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto('orders').values({ item, qty: 1 } as never).execute();
        await ship(executorDb({ query: (text, params) => trx.executeQuery(CompiledQuery.raw(text, params)) }), item);
        if (rollback) throw rolledBack;
      }),
    );
  });

  it("Drizzle: templateDb over tx.execute(sql`…`)", async () => {
    const db = drizzle(pool);
    await outbox((item, rollback) =>
      db.transaction(async (tx) => {
        await tx.insert(orders).values({ item, qty: 1 });
        await ship(templateDb((strings, ...values) => tx.execute(sql(strings, ...values))), item);
        if (rollback) tx.rollback();
      }),
    );
  });

  it('Knex: templateDb over trx.raw', async () => {
    const db = knex({ client: 'pg', connection: tdb.url, pool: { min: 0, max: 2 } });
    try {
      await outbox((item, rollback) =>
        db.transaction(async (trx) => {
          await trx('orders').insert({ item, qty: 1 });
          // Knex binds `?`; a literal `?` in the statement is escaped as `\?`.
          await ship(templateDb((strings, ...values) => trx.raw(strings.map((s) => s.replaceAll('?', '\\?')).join('?'), values as never[])), item);
          if (rollback) throw rolledBack;
        }),
      );
    } finally {
      await db.destroy();
    }
  });
});
