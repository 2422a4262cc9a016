/**
 * CloudFormation rejects a custom resource response body over 4,096 bytes ("Response object is too long"), and the
 * stack then waits for the resource's ServiceTimeout. The body is measured in bytes of its UTF-8 JSON; only the
 * Reason is shortened, at a code point, never inside one.
 */
export const MAX_RESPONSE_BYTES = 4096;
const CUT = ' […]';

export interface CustomResourceResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly Data: Record<string, string>;
}

function bytes(response: CustomResourceResponse): number {
  return Buffer.byteLength(JSON.stringify(response), 'utf8');
}

/** The response's JSON body, its Reason cut so the whole body fits CloudFormation's limit. */
export function responseBody(response: CustomResourceResponse, limit = MAX_RESPONSE_BYTES): string {
  if (bytes(response) <= limit) return JSON.stringify(response);
  if (bytes({ ...response, Reason: CUT }) > limit) {
    throw new Error(`the custom resource response is ${bytes({ ...response, Reason: '' })} bytes without its reason, over CloudFormation's ${limit}`);
  }
  // Code points, so a cut never splits a surrogate pair (which JSON would carry as a lone \ud83d escape).
  const points = Array.from(response.Reason);
  let fits = 0;
  let tooLong = points.length;
  while (tooLong - fits > 1) {
    const mid = Math.floor((fits + tooLong) / 2);
    if (bytes({ ...response, Reason: points.slice(0, mid).join('') + CUT }) <= limit) fits = mid;
    else tooLong = mid;
  }
  return JSON.stringify({ ...response, Reason: points.slice(0, fits).join('') + CUT });
}
