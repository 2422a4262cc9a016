import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { RecoverableError } from '../../../contract/errors';
import { redactText, redactUrl } from '../redact';

export const USER_AGENT = 'inferwatch-bridge/0.1.0';

/** How a receiver's 400 is classified; `out_of_order` and `duplicate` on a replay mean "already stored". */
export type RejectReason = 'out_of_order' | 'duplicate' | 'too_old' | 'series_limit' | 'bad_request';

export type Authorizer = (request: { url: URL; headers: Record<string, string>; body: Uint8Array }) => Promise<Record<string, string>>;

/** A send's outcome: accepted, or rejected whole or in part by a 400 with the receiver's reason. */
export type SendResult = { status: 'ok'; attempts: number } | { status: 'rejected'; reason: RejectReason; message: string; attempts: number };

/**
 * A request the receiver did not store: retries ran out within the time left, or it was refused (a 4xx other than
 * 400 and 429, whose message names the fix). Either way the journal keeps it and the next cycle replays it first.
 */
export class RemoteWriteError extends RecoverableError {
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RemoteWriteClientOptions {
  readonly url: string;
  readonly authorize: Authorizer;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  /** Epoch ms after which no retry starts (the Lambda's remaining time). */
  readonly deadline: () => number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly fetch?: typeof fetch;
  /** Called before each retry, for logging and the retry self-metric. */
  readonly onRetry?: (info: { attempt: number; delayMs: number; cause: string }) => void;
  /** Called after each attempt, for debug logs: the URL is already redacted. */
  readonly onAttempt?: (info: { url: string; attempt: number; status: number | undefined; bytes: number; ms: number }) => void;
}

const BASE_DELAY_MS = 250;
const MAX_DELAY_MS = 20_000;

/** AMP's words for an active-series limit: `per-labelset series limit`, `per-user series limit … exceeded`. */
const SERIES_LIMIT = /series limit/i;

export function classifyRejection(message: string): RejectReason {
  const text = message.toLowerCase();
  if (SERIES_LIMIT.test(text)) return 'series_limit';
  if (text.includes('duplicate sample')) return 'duplicate';
  if (text.includes('out of bounds') || text.includes('too old')) return 'too_old';
  if (text.includes('out of order') || text.includes('out-of-order')) return 'out_of_order';
  return 'bad_request';
}

/** `Retry-After` as seconds or an HTTP date, in ms from now. */
export function parseRetryAfter(header: string | null, nowMs: number): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * Sends remote-write 1.0 requests. Retries 5xx, 429 and network errors with exponential backoff and full
 * jitter, honouring Retry-After, as long as the wait ends before the deadline; never retries other 4xx.
 */
export class RemoteWriteClient {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly fetchImpl: typeof fetch;
  private readonly url: URL;
  /** What messages name: origin and path, never user-info or query values. */
  private readonly where: string;

  constructor(private readonly options: RemoteWriteClientOptions) {
    this.url = new URL(options.url);
    const redacted = new URL(redactUrl(options.url));
    this.where = `${redacted.origin}${redacted.pathname}`;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.fetchImpl = options.fetch ?? fetch;
  }

  async send(body: Uint8Array): Promise<SendResult> {
    for (let attempt = 1; ; attempt++) {
      let retryAfterMs: number | undefined;
      let cause: string;
      let status: number | undefined;
      const started = this.now();
      try {
        const headers = {
          'Content-Encoding': 'snappy',
          'Content-Type': 'application/x-protobuf',
          'X-Prometheus-Remote-Write-Version': '0.1.0',
          'User-Agent': USER_AGENT,
        };
        const signed = await this.options.authorize({ url: this.url, headers, body });
        const response = await this.fetchImpl(this.url, {
          method: 'POST',
          headers: signed,
          body,
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
        status = response.status;
        const text = await response.text().catch(() => '');
        this.options.onAttempt?.({ url: this.where, attempt, status, bytes: body.byteLength, ms: this.now() - started });
        if (response.ok) return { status: 'ok', attempts: attempt };
        const reason = text.trim().slice(0, 500) || response.statusText;
        if (response.status === 400) return { status: 'rejected', reason: classifyRejection(reason), message: reason, attempts: attempt };
        // AMP answers an active-series limit (per account label set, or the workspace's) with 429 too, but it does not
        // pass with time: retrying would only fail the cycle. The samples are refused, and counted as such.
        if (response.status === 429 && SERIES_LIMIT.test(reason)) return { status: 'rejected', reason: 'series_limit', message: reason, attempts: attempt };
        if (response.status !== 429 && response.status < 500) {
          throw new RemoteWriteError(`remote write to ${this.where} failed with HTTP ${response.status}: ${reason}${hintFor(response.status)}`, response.status);
        }
        retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.now());
        cause = `HTTP ${response.status}: ${reason}`;
      } catch (error) {
        if (error instanceof RemoteWriteError) throw error;
        if (status === undefined) this.options.onAttempt?.({ url: this.where, attempt, status, bytes: body.byteLength, ms: this.now() - started });
        // fetch quotes the URL it was given, user-info and all.
        cause = redactText(`network error: ${(error as Error).message}${(error as { cause?: Error }).cause ? ` (${(error as { cause: Error }).cause.message})` : ''}`);
      }
      const backoff = this.random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
      const delayMs = Math.max(backoff, retryAfterMs ?? 0);
      if (attempt >= this.options.maxAttempts || this.now() + delayMs + this.options.timeoutMs > this.options.deadline()) {
        throw new RemoteWriteError(`remote write to ${this.where} gave up after ${attempt} attempt(s): ${cause}`, undefined);
      }
      this.options.onRetry?.({ attempt, delayMs, cause });
      await this.sleep(delayMs);
    }
  }
}

function hintFor(status: number): string {
  if (status === 401 || status === 403) return ' (check the credentials and that the role may aps:RemoteWrite on this workspace)';
  if (status === 404) return ' (check the remote-write URL; AMP URLs end in /api/v1/remote_write, Prometheus needs --web.enable-remote-write-receiver)';
  if (status === 413) return ' (lower remoteWrite.maxSamplesPerRequest)';
  return '';
}

export function noAuth(): Authorizer {
  return async ({ headers }) => headers;
}

export function basicAuth(username: string, password: string): Authorizer {
  const value = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  return async ({ headers }) => ({ ...headers, Authorization: value });
}

export function bearerAuth(token: string): Authorizer {
  return async ({ headers }) => ({ ...headers, Authorization: `Bearer ${token}` });
}

/** SigV4 for AMP: service `aps`, the payload hashed and signed. */
export function sigv4Auth(region: string, credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider, service = 'aps'): Authorizer {
  const signer = new SignatureV4({ service, region, credentials, sha256: Sha256 });
  return async ({ url, headers, body }) => {
    const signed = await signer.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...headers, host: url.host },
      body,
    });
    return signed.headers as Record<string, string>;
  };
}

/** `https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-…/api/v1/remote_write` -> `eu-west-1`. */
export function ampRegion(url: string): string | undefined {
  return /^aps-workspaces(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(new URL(url).hostname)?.[1];
}
