// Tests of the compiled connector against a stub psmongo on 127.0.0.1:
// what it sends, and what it does with each kind of answer.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';

import { PsmongoConnector, PsmongoError } from '../dist/index.js';

// stub is an HTTP server that answers each path from a script of answers
// and records the requests it got.
const stub = {
  server: null,
  url: '',
  requests: [],
  scripts: new Map(),

  // on queues answers for a path: [status, body, headers] or a function
  // (req, res) that answers itself. The last answer repeats.
  on(path, ...answers) {
    this.scripts.set(path, answers);
  },

  count(path) {
    return this.requests.filter((r) => r.path === path).length;
  },
};

function handle(req, res) {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const url = new URL(req.url, stub.url);
    const body = Buffer.concat(chunks).toString('utf8');
    stub.requests.push({ method: req.method, path: url.pathname, query: url.searchParams, headers: req.headers, body });

    const script = stub.scripts.get(url.pathname) ?? [[404, { error: { code: 'NOT_FOUND', message: 'no route' } }]];
    const answer = script.length > 1 ? script.shift() : script[0];
    if (typeof answer === 'function') {
      answer(req, res);
      return;
    }
    const [status, payload, headers = {}] = answer;
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(text);
  });
}

// token answers a token route request with a token that expires in ttlMs.
function token(name, ttlMs = 15 * 60_000) {
  return [200, { token: name, powersync_url: 'http://127.0.0.1:1/ps', expires_at: new Date(Date.now() + ttlMs).toISOString() }];
}

// entry is a queued write as the SDK hands it out.
function entry(opID, op, type, id, txID, data) {
  return { clientId: opID, op, table: type, id, transactionId: txID, opData: data, toJSON: () => ({ op_id: opID, op, type, id, tx_id: txID, data }) };
}

// queue is the part of a PowerSync database that uploadData uses, holding
// one transaction until it is completed.
function queue(crud) {
  const q = {
    completed: 0,
    batchLimits: [],
    transactionCalls: 0,
    async getNextCrudTransaction() {
      q.transactionCalls++;
      return q.completed > 0 ? null : { crud, transactionId: crud[0]?.transactionId, complete: async () => void q.completed++ };
    },
    async getCrudBatch(limit) {
      q.batchLimits.push(limit);
      return q.completed > 0 ? null : { crud, haveMore: false, complete: async () => void q.completed++ };
    },
  };
  return q;
}

const twoWrites = () => [
  entry(1, 'PUT', 'todos', 't1', 7, { description: 'milk', completed: 0 }),
  entry(2, 'PATCH', 'todos', 't2', 7, { completed: 1 }),
];

function connector(options = {}) {
  return new PsmongoConnector({ backendUrl: stub.url, userId: 'alice', ...options });
}

before(async () => {
  stub.server = createServer(handle);
  await new Promise((resolve) => stub.server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${stub.server.address().port}`;
});

after(() => {
  stub.server.closeAllConnections();
  stub.server.close();
});

beforeEach(() => {
  stub.requests = [];
  stub.scripts = new Map();
});

describe('fetchCredentials', () => {
  it('asks for the user in open mode and returns endpoint, token and expiry', async () => {
    stub.on('/token', token('tok-1'));
    const creds = await connector({ userId: 'ali ce/é' }).fetchCredentials();

    assert.equal(creds.endpoint, 'http://127.0.0.1:1/ps');
    assert.equal(creds.token, 'tok-1');
    assert.ok(creds.expiresAt instanceof Date && creds.expiresAt > new Date());
    assert.equal(stub.requests[0].query.get('user_id'), 'ali ce/é');
    assert.equal(stub.requests[0].headers.authorization, undefined);
  });

  it('sends the identity token in upstream mode', async () => {
    stub.on('/token', token('tok-1'));
    const c = new PsmongoConnector({ backendUrl: stub.url, identityToken: async () => 'idp-jwt' });
    await c.fetchCredentials();

    assert.equal(stub.requests[0].headers.authorization, 'Bearer idp-jwt');
    assert.equal(stub.requests[0].query.has('user_id'), false);
  });

  it('returns null without asking when no user is signed in', async () => {
    const c = new PsmongoConnector({ backendUrl: stub.url, identityToken: () => null });
    assert.equal(await c.fetchCredentials(), null);
    assert.equal(stub.requests.length, 0);
  });

  it('always fetches a new token, as the SDK expects', async () => {
    stub.on('/token', token('tok-1'), token('tok-2'));
    const c = connector();
    assert.equal((await c.fetchCredentials()).token, 'tok-1');
    assert.equal((await c.fetchCredentials()).token, 'tok-2');
  });

  it('uses the powersyncUrl option over the server answer', async () => {
    stub.on('/token', token('tok-1'));
    const creds = await connector({ powersyncUrl: 'http://127.0.0.1:2' }).fetchCredentials();
    assert.equal(creds.endpoint, 'http://127.0.0.1:2');
  });

  const failures = [
    { name: '401 from an upstream token check', answer: [401, { error: { code: 'UNAUTHORIZED', message: 'token expired' } }], status: 401, code: 'UNAUTHORIZED' },
    { name: '404 when tokens are disabled', answer: [404, { error: { code: 'NOT_FOUND', message: 'tokens are disabled' } }], status: 404, code: 'NOT_FOUND' },
    { name: '500 with a page that is not JSON', answer: [500, '<html>oops</html>'], status: 500, code: 'HTTP_500' },
    { name: '200 that is not JSON', answer: [200, 'hello'], status: 200, code: 'BAD_RESPONSE' },
    { name: '200 without a token', answer: [200, { powersync_url: 'http://127.0.0.1:1', expires_at: '2099-01-01T00:00:00Z' }], status: 200, code: 'BAD_RESPONSE' },
    { name: '200 with a bad expiry', answer: [200, { token: 't', powersync_url: 'http://127.0.0.1:1', expires_at: 'soon' }], status: 200, code: 'BAD_RESPONSE' },
    { name: '200 without powersync_url', answer: [200, { token: 't', expires_at: '2099-01-01T00:00:00Z' }], status: 200, code: 'BAD_RESPONSE' },
  ];
  for (const tc of failures) {
    it(`throws on ${tc.name}`, async () => {
      stub.on('/token', tc.answer);
      await assert.rejects(connector().fetchCredentials(), (err) => {
        assert.ok(err instanceof PsmongoError, `got ${err}`);
        assert.equal(err.status, tc.status);
        assert.equal(err.code, tc.code);
        return true;
      });
    });
  }
});

describe('uploadData', () => {
  it('sends the transaction as one batch with the token and completes it on 200', async () => {
    stub.on('/token', token('tok-1'));
    stub.on('/upload', [200, { applied: 2, rejected: [] }]);
    const q = queue(twoWrites());
    await connector().uploadData(q);

    const upload = stub.requests.find((r) => r.path === '/upload');
    assert.equal(upload.method, 'POST');
    assert.equal(upload.headers.authorization, 'Bearer tok-1');
    assert.equal(upload.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(upload.body), {
      batch: [
        { op_id: 1, op: 'PUT', type: 'todos', id: 't1', tx_id: 7, data: { description: 'milk', completed: 0 } },
        { op_id: 2, op: 'PATCH', type: 'todos', id: 't2', tx_id: 7, data: { completed: 1 } },
      ],
    });
    assert.equal(q.completed, 1);
  });

  it('accepts a null rejected list', async () => {
    stub.on('/token', token('tok-1'));
    stub.on('/upload', [200, { applied: 2, rejected: null }]);
    const q = queue(twoWrites());
    await connector().uploadData(q);
    assert.equal(q.completed, 1);
  });

  it('does nothing when the queue is empty', async () => {
    const q = queue([]);
    await connector().uploadData(q);
    assert.equal(stub.requests.length, 0);
    assert.equal(q.completed, 0);
  });

  it('reuses the token until it nears expiry', async () => {
    stub.on('/token', token('tok-1'));
    stub.on('/upload', [200, { applied: 2, rejected: [] }]);
    const c = connector();
    await c.uploadData(queue(twoWrites()));
    await c.uploadData(queue(twoWrites()));
    assert.equal(stub.count('/token'), 1);

    stub.on('/token', token('tok-short', 30_000), token('tok-3'));
    const d = connector();
    await d.uploadData(queue(twoWrites()));
    await d.uploadData(queue(twoWrites()));
    assert.equal(stub.count('/token'), 3, 'a token that expires within refreshBeforeMs is replaced');
    assert.equal(stub.requests.at(-1).headers.authorization, 'Bearer tok-3');
  });

  it('asks for one token when uploads start together', async () => {
    stub.on('/token', token('tok-1'), token('tok-2'));
    stub.on('/upload', [200, { applied: 2, rejected: [] }]);
    const c = connector();
    await Promise.all([c.uploadData(queue(twoWrites())), c.uploadData(queue(twoWrites()))]);

    assert.equal(stub.count('/token'), 1);
    assert.deepEqual(stub.requests.filter((r) => r.path === '/upload').map((r) => r.headers.authorization), ['Bearer tok-1', 'Bearer tok-1']);
  });

  it('hands rejections with their queued writes to onRejected, then completes', async () => {
    const rejected = [
      { index: 0, op_id: 1, table: 'todos', id: 't1', code: 'UNIT_REJECTED', message: 'another op of this unit was refused' },
      { index: 1, op_id: 2, table: 'todos', id: 't2', code: 'FORBIDDEN', message: 'not owned by this user' },
    ];
    stub.on('/token', token('tok-1'));
    stub.on('/upload', [200, { applied: 0, rejected }]);
    const crud = twoWrites();
    const q = queue(crud);
    const seen = [];
    await connector({ onRejected: (r) => seen.push(r) }).uploadData(q);

    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0].map(({ entry, ...r }) => r), rejected);
    assert.equal(seen[0][0].entry, crud[0]);
    assert.equal(seen[0][1].entry, crud[1]);
    assert.equal(q.completed, 1);
  });

  it('keeps the transaction queued when onRejected throws', async () => {
    stub.on('/token', token('tok-1'));
    stub.on('/upload', [200, { applied: 0, rejected: [{ index: 1, op_id: 2, table: 'todos', id: 't2', code: 'FORBIDDEN', message: 'no' }] }]);
    const q = queue(twoWrites());
    const c = connector({
      onRejected: () => {
        throw new Error('app could not record it');
      },
    });
    await assert.rejects(c.uploadData(q), /app could not record it/);
    assert.equal(q.completed, 0);
  });

  it('warns about rejections when there is no onRejected', async (t) => {
    const warn = t.mock.method(console, 'warn', () => {});
    stub.on('/token', token('tok-1'));
    stub.on('/upload', [200, { applied: 1, rejected: [{ index: 1, op_id: 2, table: 'todos', id: 't2', code: 'FORBIDDEN', message: 'no' }] }]);
    const q = queue(twoWrites());
    await connector().uploadData(q);

    assert.equal(warn.mock.callCount(), 1);
    assert.match(warn.mock.calls[0].arguments[0], /todos\/t2 FORBIDDEN/);
    assert.equal(q.completed, 1);
  });

  it('fetches a new token once on 401 and sends the batch again', async () => {
    stub.on('/token', token('stale'), token('fresh'));
    stub.on('/upload', [401, { error: { code: 'UNAUTHORIZED', message: 'token expired' } }], [200, { applied: 2, rejected: [] }]);
    const q = queue(twoWrites());
    await connector().uploadData(q);

    const uploads = stub.requests.filter((r) => r.path === '/upload');
    assert.deepEqual(uploads.map((r) => r.headers.authorization), ['Bearer stale', 'Bearer fresh']);
    assert.equal(uploads[0].body, uploads[1].body);
    assert.equal(q.completed, 1);
  });

  it('throws on a second 401, after one refresh', async () => {
    stub.on('/token', token('tok-1'), token('tok-2'), token('tok-3'));
    stub.on('/upload', [401, { error: { code: 'UNAUTHORIZED', message: 'unknown kid' } }]);
    const q = queue(twoWrites());
    await assert.rejects(connector().uploadData(q), (err) => {
      assert.ok(err instanceof PsmongoError, `got ${err}`);
      assert.equal(err.status, 401);
      assert.equal(err.code, 'UNAUTHORIZED');
      assert.match(err.message, /unknown kid/);
      return true;
    });
    assert.equal(stub.count('/token'), 2);
    assert.equal(stub.count('/upload'), 2);
    assert.equal(q.completed, 0);
  });

  const failures = [
    {
      name: '503 with Retry-After',
      answer: [503, { error: { code: 'UNAVAILABLE', message: 'MongoDB is unreachable' } }, { 'Retry-After': '5' }],
      status: 503,
      code: 'UNAVAILABLE',
      retryAfter: 5,
    },
    { name: '500', answer: [500, { error: { code: 'INTERNAL', message: 'internal server error' } }], status: 500, code: 'INTERNAL' },
    { name: '502 from a proxy', answer: [502, '<html>bad gateway</html>'], status: 502, code: 'HTTP_502' },
    { name: '400', answer: [400, { error: { code: 'BAD_REQUEST', message: 'op 0 has no id' } }], status: 400, code: 'BAD_REQUEST' },
    { name: '413', answer: [413, { error: { code: 'BODY_TOO_LARGE', message: 'too large' } }], status: 413, code: 'BODY_TOO_LARGE' },
    { name: '200 that is not JSON', answer: [200, '<html>welcome</html>'], status: 200, code: 'BAD_RESPONSE' },
    { name: '200 without applied', answer: [200, { ok: true }], status: 200, code: 'BAD_RESPONSE' },
    { name: '204', answer: [204, ''], status: 204, code: 'HTTP_204' },
    {
      name: 'a dropped connection',
      answer: (req) => req.socket.destroy(),
      status: 0,
      code: 'NETWORK',
    },
  ];
  for (const tc of failures) {
    it(`throws and keeps the queue on ${tc.name}`, async () => {
      stub.on('/token', token('tok-1'));
      stub.on('/upload', tc.answer);
      const q = queue(twoWrites());
      await assert.rejects(connector().uploadData(q), (err) => {
        assert.ok(err instanceof PsmongoError, `got ${err}`);
        assert.equal(err.status, tc.status);
        assert.equal(err.code, tc.code);
        assert.equal(err.retryAfterSeconds, tc.retryAfter);
        return true;
      });
      assert.equal(q.completed, 0);
    });
  }

  it('throws when no server listens', async () => {
    const closed = createServer();
    await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${closed.address().port}`;
    await new Promise((resolve) => closed.close(resolve));

    const q = queue(twoWrites());
    await assert.rejects(new PsmongoConnector({ backendUrl: url, userId: 'alice' }).uploadData(q), { code: 'NETWORK', status: 0 });
    assert.equal(q.completed, 0);
  });

  it('gives up on a server that does not answer, after timeoutMs', async () => {
    stub.on('/token', token('tok-1'));
    stub.on('/upload', () => {}); // never answers
    const q = queue(twoWrites());
    await assert.rejects(connector({ timeoutMs: 200 }).uploadData(q), { code: 'TIMEOUT', status: 0 });
    assert.equal(q.completed, 0);
  });

  it('throws when no user is signed in', async () => {
    const q = queue(twoWrites());
    const c = new PsmongoConnector({ backendUrl: stub.url, identityToken: async () => null });
    await assert.rejects(c.uploadData(q), { code: 'SIGNED_OUT' });
    assert.equal(stub.count('/upload'), 0);
    assert.equal(q.completed, 0);
  });

  it('uses getCrudBatch(batchSize) when given one', async () => {
    stub.on('/token', token('tok-1'));
    stub.on('/upload', [200, { applied: 2, rejected: [] }]);
    const q = queue(twoWrites());
    await connector({ batchSize: 50 }).uploadData(q);

    assert.deepEqual(q.batchLimits, [50]);
    assert.equal(q.transactionCalls, 0);
    assert.equal(q.completed, 1);
  });

  it('uses the configured paths', async () => {
    stub.on('/api/auth/token', token('tok-1'));
    stub.on('/api/data', [200, { applied: 2, rejected: [] }]);
    const q = queue(twoWrites());
    await connector({ backendUrl: `${stub.url}/`, tokenPath: '/api/auth/token', uploadPath: '/api/data' }).uploadData(q);
    assert.equal(q.completed, 1);
  });
});

describe('new PsmongoConnector', () => {
  const bad = [
    { name: 'no backendUrl', options: { userId: 'a' } },
    { name: 'neither userId nor identityToken', options: { backendUrl: 'http://127.0.0.1:1' } },
    { name: 'both userId and identityToken', options: { backendUrl: 'http://127.0.0.1:1', userId: 'a', identityToken: () => 'x' } },
    { name: 'a batchSize of 0', options: { backendUrl: 'http://127.0.0.1:1', userId: 'a', batchSize: 0 } },
  ];
  for (const tc of bad) {
    it(`refuses ${tc.name}`, () => {
      assert.throws(() => new PsmongoConnector(tc.options), TypeError);
    });
  }
});
