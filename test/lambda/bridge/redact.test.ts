import { redactingLogger } from '../../../lambda/bridge/logger';
import { redactText, redactUrl } from '../../../lambda/bridge/redact';

test('user-info and query values are masked; the rest of the URL stays readable', () => {
  expect(redactUrl('http://user:s3cret@host:9/api/v1/write?token=abc&tenant=x')).toBe('http://***:***@host:9/api/v1/write?token=***&tenant=***');
  expect(redactUrl('https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write')).toBe(
    'https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write',
  );
});

test('URLs inside free text are masked (fetch quotes the URL it was given)', () => {
  expect(redactText('Request cannot be constructed from a URL that includes credentials: http://u:s3cret@127.0.0.1:1/w (x)')).toBe(
    'Request cannot be constructed from a URL that includes credentials: http://***:***@127.0.0.1:1/w (x)',
  );
  expect(redactText('{"url":"http://a:b@h/p"}')).toBe('{"url":"http://***:***@h/p"}');
  expect(redactText('no urls here')).toBe('no urls here');
});

test('the Lambda logger redacts URLs in messages and in every field, however deep', () => {
  const lines: Array<[string, Record<string, unknown> | undefined]> = [];
  const inner = { debug: () => {}, info: () => {}, warn: (m: string, e?: Record<string, unknown>) => void lines.push([m, e]), error: () => {} };
  redactingLogger(inner).warn('remote write to http://u:s3cret@h/w failed', { cause: { url: 'http://h/w?token=s3cret' }, attempt: 2 });
  expect(JSON.stringify(lines)).not.toContain('s3cret');
  expect(lines[0]).toEqual(['remote write to http://***:***@h/w failed', { cause: { url: 'http://h/w?token=***' }, attempt: 2 }]);
});
