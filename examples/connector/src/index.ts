// A PowerSync backend connector for psmongo.
//
// fetchCredentials() asks psmongo's token route for a token; uploadData()
// posts the upload queue to its batch route, one transaction (or one
// getCrudBatch(n)) per request, with that token. Only types come from
// @powersync/common, so the compiled JavaScript has no imports at all.
//
// Uploads carry psmongo's own token, as auth.upload.mode "powersync" (the
// default) wants; auth.upload.mode "upstream", which takes the identity
// provider's token instead, is not supported here.

import type { CrudEntry, PowerSyncBackendConnector, PowerSyncCredentials } from '@powersync/common';

/**
 * The part of a PowerSync database that the connector uses. The database
 * the SDK hands to uploadData() has it.
 */
export interface CrudQueue {
  getNextCrudTransaction(): Promise<CrudChunk | null>;
  getCrudBatch(limit?: number): Promise<CrudChunk | null>;
}

/** A transaction or batch from the upload queue. */
export interface CrudChunk {
  crud: CrudEntry[];
  complete(): Promise<void>;
}

/** A write that psmongo refused and kept in its dead-letter collection. */
export interface RejectedWrite {
  /** Position of the write in the uploaded transaction or batch. */
  index: number;
  op_id: number | string | null;
  table: string;
  id: string;
  /** Why, for example FORBIDDEN, TYPE_MISMATCH, UNIT_REJECTED or a hook's own code. */
  code: string;
  message: string;
  /** The queued write itself, to show the user which change did not land. */
  entry: CrudEntry | undefined;
}

export interface PsmongoConnectorOptions {
  /** psmongo's base URL, for example "https://api.example.com". */
  backendUrl: string;
  /**
   * The user to ask a token for, sent as ?user_id=. Only for
   * auth.token.mode "open", which is for development.
   */
  userId?: string;
  /**
   * Returns the app's identity-provider token, sent to the token route as
   * Authorization: Bearer, for auth.token.mode "upstream". Returning null
   * means no user is signed in: fetchCredentials() then returns null.
   */
  identityToken?: () => string | null | Promise<string | null>;
  /**
   * Receives the writes psmongo refused in an upload, before the upload is
   * completed and leaves the queue. If it throws, the upload is not
   * completed and the SDK sends it again: psmongo keeps the rejection once
   * and reports it again. Without it the refusals are logged with
   * console.warn (tables, ids and codes only).
   */
  onRejected?: (rejected: RejectedWrite[]) => void | Promise<void>;
  /**
   * Upload up to this many writes per request with getCrudBatch(n), which
   * may span several transactions, instead of one transaction per request.
   * psmongo still applies each transaction in the batch as its own unit.
   */
  batchSize?: number;
  /** The PowerSync Service URL; by default the powersync_url psmongo reports. */
  powersyncUrl?: string;
  /** Path of the token route; "/token" by default ("/api/auth/token" also works). */
  tokenPath?: string;
  /** Path of the batch route; "/upload" by default ("/api/data" also works). */
  uploadPath?: string;
  /** How long a request may take before it fails; 60 s by default. */
  timeoutMs?: number;
  /** Uploads fetch a new token when theirs expires within this time; 60 s by default. */
  refreshBeforeMs?: number;
  /** The fetch to use; the global one by default. */
  fetch?: typeof fetch;
}

/**
 * PsmongoError is what the connector throws; the SDK keeps the queue and
 * retries uploadData() later.
 */
export class PsmongoError extends Error {
  /** The HTTP status, or 0 when no answer came. */
  readonly status: number;
  /** psmongo's error code, or NETWORK, TIMEOUT, BAD_RESPONSE or SIGNED_OUT. */
  readonly code: string;
  /** The server's Retry-After, in seconds, when it sent one. */
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, code: string, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PsmongoError';
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

interface Credentials {
  endpoint: string;
  token: string;
  expiresAt: Date;
}

interface UploadResult {
  applied: number;
  rejected: RejectedWrite[];
}

/**
 * PsmongoConnector connects a PowerSync database to psmongo. Pass it to
 * database.connect(), or call uploadData() yourself.
 */
export class PsmongoConnector implements PowerSyncBackendConnector {
  readonly #backendUrl: string;
  readonly #options: PsmongoConnectorOptions;
  readonly #fetch: typeof fetch;
  #credentials: Credentials | null = null;
  #pending: Promise<Credentials | null> | null = null;

  constructor(options: PsmongoConnectorOptions) {
    if (typeof options?.backendUrl !== 'string' || options.backendUrl === '') {
      throw new TypeError('PsmongoConnector: backendUrl is required');
    }
    if ((options.userId === undefined) === (options.identityToken === undefined)) {
      throw new TypeError('PsmongoConnector: give either userId (open token mode) or identityToken (upstream mode)');
    }
    if (options.batchSize !== undefined && !(Number.isInteger(options.batchSize) && options.batchSize > 0)) {
      throw new TypeError('PsmongoConnector: batchSize must be a positive integer');
    }
    this.#backendUrl = options.backendUrl.replace(/\/+$/, '');
    this.#options = options;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /**
   * Fetches a new token from psmongo, as the SDK asks it to, and keeps it
   * for uploads. Returns null when identityToken reports no signed-in user.
   */
  async fetchCredentials(): Promise<PowerSyncCredentials | null> {
    const c = await this.#refresh();
    return c && { endpoint: c.endpoint, token: c.token, expiresAt: c.expiresAt };
  }

  /**
   * Uploads the oldest transaction in the queue (or a batch, with
   * batchSize) and completes it once psmongo answers 200: every write is
   * then applied or kept as rejected, and rejections go to onRejected.
   * On a 401 it fetches a new token and tries once more. It throws on any
   * other answer and on network errors, leaving the queue as it was.
   *
   * A 400, 413 or 415 fails the same way on every retry: the queue waits
   * until the app or psmongo (server.body_limit, say) is fixed, and the
   * thrown PsmongoError names the problem. Dropping the upload instead
   * would lose the writes.
   */
  async uploadData(database: CrudQueue): Promise<void> {
    const chunk = this.#options.batchSize
      ? await database.getCrudBatch(this.#options.batchSize)
      : await database.getNextCrudTransaction();
    if (!chunk || chunk.crud.length === 0) {
      return;
    }

    // toJSON() keeps op_id and tx_id, so psmongo applies each transaction as a unit.
    const body = JSON.stringify({ batch: chunk.crud.map((entry) => entry.toJSON()) });
    const res = await this.#post(body);
    const result = await readResult(res);

    if (result.rejected.length > 0) {
      const rejected = result.rejected.map((r) => ({ ...r, entry: chunk.crud[r.index] }));
      await (this.#options.onRejected ?? warnRejected)(rejected);
    }
    await chunk.complete();
  }

  // post sends an upload with the cached token, and once more with a new
  // token if psmongo refuses the first.
  async #post(body: string): Promise<Response> {
    const url = this.#backendUrl + (this.#options.uploadPath ?? '/upload');
    const send = (token: string) =>
      this.#send('upload', url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: `Bearer ${token}` },
        body,
      });

    const res = await send(await this.#uploadToken());
    if (res.status !== 401) {
      return res;
    }
    await res.body?.cancel();

    this.#credentials = null;
    const fresh = await this.#refresh();
    if (!fresh) {
      throw signedOut();
    }
    return send(fresh.token);
  }

  // uploadToken returns the cached token unless it is about to expire.
  async #uploadToken(): Promise<string> {
    const c = this.#credentials;
    const margin = this.#options.refreshBeforeMs ?? 60_000;
    if (c && c.expiresAt.getTime() - Date.now() > margin) {
      return c.token;
    }
    const fresh = await this.#refresh();
    if (!fresh) {
      throw signedOut();
    }
    return fresh.token;
  }

  // refresh fetches a token; callers that come while one is on its way share it.
  #refresh(): Promise<Credentials | null> {
    this.#pending ??= this.#requestToken().finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  async #requestToken(): Promise<Credentials | null> {
    let url = this.#backendUrl + (this.#options.tokenPath ?? '/token');
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.#options.identityToken) {
      const identity = await this.#options.identityToken();
      if (!identity) {
        this.#credentials = null;
        return null;
      }
      headers.Authorization = `Bearer ${identity}`;
    } else {
      url += `${url.includes('?') ? '&' : '?'}user_id=${encodeURIComponent(this.#options.userId ?? '')}`;
    }

    const res = await this.#send('token', url, { method: 'GET', headers });
    if (!res.ok) {
      throw await answerError('token', res);
    }
    const body = await readJSON('token', res);
    const expiresAt = new Date(typeof body?.expires_at === 'string' ? body.expires_at : NaN);
    const endpoint = this.#options.powersyncUrl ?? body?.powersync_url;
    if (typeof body?.token !== 'string' || body.token === '' || Number.isNaN(expiresAt.getTime())) {
      throw new PsmongoError(res.status, 'BAD_RESPONSE', 'token: the answer has no token or no valid expires_at');
    }
    if (typeof endpoint !== 'string' || endpoint === '') {
      throw new PsmongoError(res.status, 'BAD_RESPONSE', 'token: the answer has no powersync_url and no powersyncUrl option is set');
    }

    this.#credentials = { endpoint, token: body.token, expiresAt };
    return this.#credentials;
  }

  // send is fetch with a time limit, its failures turned into PsmongoError.
  async #send(what: string, url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.#fetch(url, { ...init, signal: AbortSignal.timeout(this.#options.timeoutMs ?? 60_000) });
    } catch (err) {
      if ((err as { name?: unknown } | null)?.name === 'TimeoutError') {
        throw new PsmongoError(0, 'TIMEOUT', `${what}: no answer from ${url} in time`, { cause: err });
      }
      throw new PsmongoError(0, 'NETWORK', `${what}: no answer from ${url}`, { cause: err });
    }
  }
}

// readResult reads a 200's {"applied", "rejected"}; anything else is an
// error, so the queue is kept.
async function readResult(res: Response): Promise<UploadResult> {
  if (res.status !== 200) {
    throw await answerError('upload', res);
  }
  const body = await readJSON('upload', res);
  const rejected = body?.rejected ?? [];
  if (typeof body?.applied !== 'number' || !Array.isArray(rejected)) {
    throw new PsmongoError(res.status, 'BAD_RESPONSE', 'upload: the answer has no "applied" count or "rejected" list');
  }
  return { applied: body.applied, rejected };
}

async function readJSON(what: string, res: Response): Promise<any> {
  try {
    return await res.json();
  } catch (err) {
    throw new PsmongoError(res.status, 'BAD_RESPONSE', `${what}: the answer is not JSON`, { cause: err });
  }
}

// answerError turns psmongo's {"error": {"code", "message"}} into a PsmongoError.
async function answerError(what: string, res: Response): Promise<PsmongoError> {
  let code = `HTTP_${res.status}`;
  let message = res.statusText;
  try {
    const body = await res.json();
    if (typeof body?.error?.code === 'string') code = body.error.code;
    if (typeof body?.error?.message === 'string') message = body.error.message;
  } catch {
    // not psmongo's error body (a proxy's page, say): the status says enough
  }

  const retryAfter = Number.parseInt(res.headers.get('Retry-After') ?? '', 10);
  return new PsmongoError(res.status, code, `${what}: ${res.status} ${code}: ${message}`, {
    retryAfterSeconds: Number.isNaN(retryAfter) ? undefined : retryAfter,
  });
}

function signedOut(): PsmongoError {
  return new PsmongoError(0, 'SIGNED_OUT', 'upload: no user is signed in (identityToken returned nothing)');
}

function warnRejected(rejected: RejectedWrite[]): void {
  const list = rejected.map((r) => `${r.table}/${r.id} ${r.code}`).join(', ');
  console.warn(`psmongo refused ${rejected.length} write(s), kept in its dead-letter collection: ${list}`);
}
