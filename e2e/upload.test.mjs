// End to end: writes made in local databases of the official PowerSync
// Node.js SDK, uploaded by the example connector's uploadData() to psmongo
// built from this checkout, checked in MongoDB with their BSON types. No
// PowerSync Service is involved: the test calls uploadData() as the SDK
// would, and never connects the databases.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { PowerSyncDatabase, Schema, Table, column } from '@powersync/node';
import { Binary, Double, Int32, Long, MongoClient } from 'mongodb';

import { buildPsmongo, freePort, sleep, startServer, startStore } from './harness.mjs';

const { PsmongoConnector } = await import('../examples/connector/dist/index.js').catch((err) => {
  throw new Error('the connector is not built: run "npm ci && npm run build" in examples/connector', { cause: err });
});

const schema = new Schema({
  lists: new Table({ name: column.text, created_at: column.text }),
  todos: new Table({
    list_id: column.text,
    description: column.text,
    completed: column.integer,
    created_at: column.text,
    completed_at: column.text,
    tags: column.text,
    meta: column.text,
    priority: column.integer,
    price: column.real,
  }),
});

// config is psmongo's: typed fields, an owner on todos, nothing else allowed.
const config = `
server:
  host: 127.0.0.1
log:
  level: debug
mongodb:
  database: e2e
collections:
  lists:
    id_type: uuid
    fields:
      created_at: date
  todos:
    owner_field: created_by
    fields:
      completed: bool
      created_at: date
      completed_at: date
      tags: array
      meta: object
      priority: int
      price: double
unlisted_collections: reject
`;

// Device is one user's app: a local PowerSync database, the connector, and
// the rejections the connector reported.
class Device {
  constructor(user, dir, connectorOptions) {
    this.rejected = [];
    this.db = new PowerSyncDatabase({ schema, database: { dbFilename: `${user}.db`, dbLocation: dir } });
    this.connector = new PsmongoConnector({
      ...connectorOptions,
      userId: user,
      onRejected: (r) => this.rejected.push(...r),
    });
  }

  // queued returns the writes waiting in the upload queue.
  async queued() {
    const batch = await this.db.getCrudBatch(1000);
    return batch?.crud ?? [];
  }

  // drain uploads until the queue is empty, as the SDK does after writes.
  async drain() {
    for (let i = 0; i < 50 && (await this.queued()).length > 0; i++) {
      await this.connector.uploadData(this.db);
    }
    assert.deepEqual(await this.queued(), [], 'the upload queue is empty');
  }

  // synced stores rows as if they had come from the PowerSync Service: in
  // the local database, with nothing to upload.
  async synced(sql, params) {
    await this.db.execute(sql, params);
    const tx = await this.db.getNextCrudTransaction();
    await tx.complete();
  }
}

describe('uploads from the PowerSync SDK through the connector', { timeout: 10 * 60_000 }, () => {
  let dir, bin, configFile, storePort, storeDir, store, server, mongo, db, alice, bob;
  const listID = randomUUID();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'psmongo-e2e-'));
    bin = await buildPsmongo(dir);
    configFile = join(dir, 'config.yaml');
    await writeFile(configFile, config);

    storePort = await freePort();
    storeDir = join(dir, 'mongo');
    store = await startStore(bin, { dir, config: configFile, port: storePort, dataDir: storeDir });

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    server = await startServer(bin, {
      dir,
      config: configFile,
      url,
      env: {
        MONGO_URI: store.uri,
        PORT: String(port),
        PSMONGO_DATA_DIR: join(dir, 'data'),
        // the tokens' audience only: nothing connects to it
        POWERSYNC_URL: 'http://127.0.0.1:9/powersync',
      },
    });

    mongo = new MongoClient(store.uri, { directConnection: true, serverSelectionTimeoutMS: 20_000 });
    db = mongo.db('e2e');
    alice = new Device('alice', dir, { backendUrl: url });
    bob = new Device('bob', dir, { backendUrl: url, batchSize: 100 });
    await Promise.all([alice.db.init(), bob.db.init()]);
  });

  after(async () => {
    await Promise.allSettled([alice?.db.close(), bob?.db.close(), mongo?.close()]);
    await Promise.allSettled([server?.stop(), store?.process.stop()]);
    if (process.env.PSMONGO_E2E_KEEP) {
      console.log(`kept ${dir}`);
    } else if (dir) {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('applies inserts, updates and deletes with their BSON types', async () => {
    await alice.db.execute('INSERT INTO lists (id, name, created_at) VALUES (?, ?, ?)', [listID, 'Groceries', '2026-12-04 15:00:00']);
    await alice.db.writeTransaction(async (tx) => {
      const insert = `INSERT INTO todos (id, list_id, description, completed, created_at, tags, meta, priority, price)
        VALUES (?, ?, ?, ?, ?, ?, json_object('qty', 2, 'unit', 'l'), ?, ?)`;
      await tx.execute(insert, ['t1', listID, 'Buy milk', 0, '2026-12-04 15:55:11', '["dairy","weekly"]', 3, 1.25]);
      await tx.execute(insert, ['t2', listID, 'Call Bob', 1, '2026-12-04T16:00:00.250Z', '[]', 1, 0.5]);
      await tx.execute(insert, ['t3', listID, 'Gone soon', 0, '2026-12-04 17:00:00', '[]', 2, 0]);
    });
    await alice.db.execute(`UPDATE todos SET description = 'Buy oat milk' WHERE id = 't1'`);
    await alice.db.execute(`UPDATE todos SET completed = 1, completed_at = '2026-12-05 08:00:00.5', price = NULL WHERE id = 't1'`);
    await alice.db.execute(`UPDATE todos SET tags = json_array('dairy'), meta = json_set(meta, '$.qty', 3) WHERE id = 't1'`);
    await alice.db.execute(`DELETE FROM todos WHERE id = 't3'`);

    assert.equal((await alice.queued()).length, 8);
    await alice.drain();
    assert.deepEqual(alice.rejected, []);

    const uuid = listID.replaceAll('-', '');
    assert.deepEqual(await typedDocs(db, 'lists'), [
      { _id: `binary4:${uuid}`, name: 'Groceries', created_at: 'date:2026-12-04T15:00:00.000Z' },
    ]);
    assert.deepEqual(await typedDocs(db, 'todos'), [
      {
        _id: 't1',
        list_id: listID,
        description: 'Buy oat milk', // PATCHed alone: every other field is still there
        completed: true,
        created_at: 'date:2026-12-04T15:55:11.000Z',
        completed_at: 'date:2026-12-05T08:00:00.500Z',
        tags: ['dairy'],
        meta: { qty: 'int:3', unit: 'l' },
        priority: 'int:3',
        price: null,
        created_by: 'alice',
      },
      {
        _id: 't2',
        list_id: listID,
        description: 'Call Bob',
        completed: true,
        created_at: 'date:2026-12-04T16:00:00.250Z',
        tags: [],
        meta: { qty: 'int:2', unit: 'l' },
        priority: 'int:1',
        price: 'double:0.5',
        created_by: 'alice',
      },
    ]);
    assert.equal(await db.collection('powersync_rejected_writes').countDocuments(), 0);
  });

  it("refuses a transaction that touches another user's document, whole, and reports it", async () => {
    await bob.synced(`INSERT INTO todos (id, description, completed) VALUES ('t1', 'Buy oat milk', 1)`);
    await bob.db.writeTransaction(async (tx) => {
      await tx.execute(`INSERT INTO todos (id, description, completed) VALUES ('b1', 'Bob''s own', 0)`);
      await tx.execute(`UPDATE todos SET completed = 0 WHERE id = 't1'`);
    });
    await bob.drain();

    assert.deepEqual(
      bob.rejected.map((r) => [r.index, r.table, r.id, r.code, r.entry?.op, r.entry?.id]),
      [
        [0, 'todos', 'b1', 'UNIT_REJECTED', 'PUT', 'b1'],
        [1, 'todos', 't1', 'FORBIDDEN', 'PATCH', 't1'],
      ],
    );
    assert.equal(await db.collection('todos').countDocuments({ _id: 'b1' }), 0, 'nothing of the refused transaction is written');
    assert.equal((await db.collection('todos').findOne({ _id: 't1' })).completed, true, "alice's todo is unchanged");

    const kept = await db.collection('powersync_rejected_writes').find({ user_id: 'bob' }).toArray();
    assert.equal(kept.length, 1);
    assert.equal(kept[0].code, 'FORBIDDEN');
    assert.equal(kept[0].failed_index, 1);
    assert.ok(kept[0].received_at instanceof Date);
    assert.deepEqual(
      kept[0].ops.map((op) => JSON.parse(op)).map((op) => [op.op, op.type, op.id, op.data]),
      [
        ['PUT', 'todos', 'b1', { description: "Bob's own", completed: 0 }],
        ['PATCH', 'todos', 't1', { completed: 0 }],
      ],
    );
  });

  it('refuses a value that is not of its field type, and reports it', async () => {
    await alice.db.execute(`UPDATE todos SET completed = 'yes', description = 'Called Bob' WHERE id = 't2'`);
    await alice.drain();

    assert.deepEqual(
      alice.rejected.map((r) => [r.table, r.id, r.code]),
      [['todos', 't2', 'TYPE_MISMATCH']],
    );
    assert.match(alice.rejected[0].message, /completed/);
    const t2 = await db.collection('todos').findOne({ _id: 't2' });
    assert.equal(t2.description, 'Call Bob', 'the refused PATCH is not applied');

    const kept = await db.collection('powersync_rejected_writes').find({ user_id: 'alice' }).toArray();
    assert.deepEqual(
      kept.map((k) => [k.code, k.failed_index, k.ops.length]),
      [['TYPE_MISMATCH', 0, 1]],
    );
    alice.rejected.length = 0;
  });

  it('keeps the queue when the store is down (503), and uploads it once the store is back', async () => {
    await store.process.stop();
    await alice.db.execute(`INSERT INTO todos (id, description, completed) VALUES ('t4', 'Written offline', 0)`);

    await assert.rejects(alice.connector.uploadData(alice.db), (err) => {
      assert.equal(err.status, 503, `got ${err}`);
      assert.equal(err.code, 'UNAVAILABLE');
      assert.ok(err.retryAfterSeconds > 0, 'Retry-After is set');
      return true;
    });
    assert.deepEqual(
      (await alice.queued()).map((e) => [e.op, e.table, e.id]),
      [['PUT', 'todos', 't4']],
    );

    store = await startStore(bin, { dir, config: configFile, port: storePort, dataDir: storeDir });

    // The SDK calls uploadData again after a delay until it succeeds.
    let lastError;
    for (let i = 0; i < 40 && (await alice.queued()).length > 0; i++) {
      lastError = await alice.connector.uploadData(alice.db).catch((err) => err);
      if (lastError) {
        await sleep(500);
      }
    }
    assert.deepEqual(await alice.queued(), [], `the queue is uploaded after the outage (last error: ${lastError})`);
    assert.deepEqual(alice.rejected, []);

    const t4 = await typedDocs(db, 'todos', { _id: 't4' });
    assert.deepEqual(t4, [{ _id: 't4', description: 'Written offline', completed: false, created_by: 'alice' }]);
    assert.equal(await db.collection('todos').countDocuments(), 3);
  });
});

// typedDocs returns the documents of a collection with each value tagged
// by its BSON type where JavaScript would hide it: "int:3", "double:0.5",
// "date:...", "binary4:<hex>".
async function typedDocs(db, name, filter = {}) {
  const docs = await db.collection(name).find(filter, { promoteValues: false, sort: { _id: 1 } }).toArray();
  return docs.map(typed);
}

function typed(v) {
  switch (true) {
    case v instanceof Int32:
      return `int:${v.value}`;
    case v instanceof Long:
      return `long:${v.toString()}`;
    case v instanceof Double:
      return `double:${v.value}`;
    case v instanceof Date:
      return `date:${v.toISOString()}`;
    case v instanceof Binary:
      return `binary${v.sub_type}:${Buffer.from(v.buffer).toString('hex')}`;
    case Array.isArray(v):
      return v.map(typed);
    case v !== null && typeof v === 'object':
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typed(x)]));
  }
  return v;
}
