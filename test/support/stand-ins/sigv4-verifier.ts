import type { IncomingMessage } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

/** AWS refuses a request whose X-Amz-Date is further than this from its own clock. */
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

/** Why AWS would refuse the request's signature with 403: its error code and message, as the service words them. */
export class SigV4Refusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a service expects a request to be signed for, and with which key. */
export interface SigV4Expectation {
  readonly service: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/**
 * Recomputes the SigV4 signature from the request as received, as AWS does: any difference (key, scope, date,
 * a signed header missing, the payload) is a `SigV4Refusal`. Returns the credential scope it was signed with.
 */
export async function verifySigV4(req: IncomingMessage, url: URL, body: Buffer, expected: SigV4Expectation): Promise<{ accessKey: string; region: string; service: string }> {
  const authorization = String(req.headers.authorization ?? '');
  const parsed = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!parsed) throw new SigV4Refusal('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const [, accessKey = '', , region = '', service = '', signedHeaders = '', signature = ''] = parsed;
  if (accessKey !== expected.credentials.accessKeyId) throw new SigV4Refusal('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (service !== expected.service || region !== expected.region) {
    throw new SigV4Refusal('InvalidSignatureException', `Credential should be scoped to correct service/region: expected ${expected.region}/${expected.service}, got ${region}/${service}`);
  }
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const signingDate = new Date(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (Number.isNaN(signingDate.getTime()) || Math.abs(Date.now() - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) {
    throw new SigV4Refusal('InvalidSignatureException', `Signature expired or X-Amz-Date missing: ${amzDate}`);
  }
  const headers: Record<string, string> = {};
  for (const name of signedHeaders.split(';')) {
    const value = req.headers[name];
    if (value === undefined) throw new SigV4Refusal('InvalidSignatureException', `signed header ${name} is missing`);
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  // Add the payload-hash header only where the client signed one.
  const signer = new SignatureV4({ ...expected, sha256: Sha256, applyChecksum: 'x-amz-content-sha256' in headers });
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const existing = query[key];
    query[key] = existing === undefined ? value : [existing, value].flat();
  }
  const signed = await signer.sign(
    { method: req.method ?? 'GET', protocol: 'http:', hostname: url.hostname, path: url.pathname, query, headers, body: body.length > 0 ? new Uint8Array(body) : undefined },
    { signingDate, unsignableHeaders: new Set(), signableHeaders: new Set(Object.keys(headers)) },
  );
  const recomputed = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? signed.headers.Authorization))?.[1];
  if (recomputed !== signature) {
    throw new SigV4Refusal('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');
  }
  return { accessKey, region, service };
}
