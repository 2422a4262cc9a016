import fc from 'fast-check';
import { MAX_RESPONSE_BYTES, responseBody, type CustomResourceResponse } from '../../../lambda/grafana-provisioner/response';

const base: CustomResourceResponse = {
  Status: 'FAILED',
  Reason: '',
  PhysicalResourceId: 'inferwatch-grafana-g-abc123',
  StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/Inferwatch-Monitoring/0f9e8d7c-6b5a-4321-9876-543210fedcba',
  RequestId: '6d8f0b56-4e5a-4b89-9e1a-0c2d3e4f5a6b',
  LogicalResourceId: 'GrafanaProvisioning1A2B3C4D',
  Data: {},
};

describe('the custom resource response body (CloudFormation: at most 4,096 bytes)', () => {
  test('a short reason is sent whole', () => {
    expect(JSON.parse(responseBody({ ...base, Reason: 'provisioned' }))).toEqual({ ...base, Reason: 'provisioned' });
  });

  test('any reason: the whole body fits in bytes, is valid UTF-8 JSON, and keeps a prefix of the reason cut at a code point', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'é', '€', '🚫', '"', '\\', '\n', '\u0001', '界'), minLength: 0, maxLength: 6000 }), (reason) => {
        const body = responseBody({ ...base, Reason: reason });
        expect(Buffer.byteLength(body, 'utf8')).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
        expect(body.isWellFormed()).toBe(true);
        const parsed = JSON.parse(body) as CustomResourceResponse;
        expect({ ...parsed, Reason: '' }).toEqual(base);
        if (parsed.Reason === reason) return;
        expect(parsed.Reason.endsWith(' […]')).toBe(true);
        expect(reason.startsWith(parsed.Reason.slice(0, -' […]'.length))).toBe(true);
        // Cut no shorter than it has to be: one more code point would not fit.
        const kept = Array.from(parsed.Reason.slice(0, -' […]'.length)).length;
        const longer = Array.from(reason).slice(0, kept + 1).join('') + ' […]';
        expect(Buffer.byteLength(JSON.stringify({ ...base, Reason: longer }), 'utf8')).toBeGreaterThan(MAX_RESPONSE_BYTES);
      }),
      { numRuns: 300 },
    );
  });

  test('a body too long without any reason is an error, not a response CloudFormation refuses', () => {
    expect(() => responseBody({ ...base, Reason: 'x', Data: { Dashboards: 'd'.repeat(5000) } })).toThrow(/over CloudFormation's 4096/);
  });
});
