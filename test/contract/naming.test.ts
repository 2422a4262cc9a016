import fc from 'fast-check';
import { namespacePrefix, normalizeMetricKey, sanitizeLabelName, sanitizeLabelValue, snakeCase, yaceSnakeCase } from '../../contract/naming';

describe('naming', () => {
  test.each([
    ['CPUUtilization', 'cpu_utilization'],
    ['Invocation4XXErrors', 'invocation_4xx_errors'],
    ['ModelLatency', 'model_latency'],
    ['GPUMemoryUtilization', 'gpu_memory_utilization'],
    ['p99', 'p99'],
    ['SampleCount', 'sample_count'],
    ['Execution Errors', 'execution_errors'],
  ])('snakeCase(%s) = %s', (input, expected) => expect(snakeCase(input)).toBe(expected));

  test.each([
    ['CPUUtilization', 'cpuutilization'],
    ['ModelLatency', 'model_latency'],
    ['Invocations', 'invocations'],
  ])('yaceSnakeCase(%s) = %s (yet-another-cloudwatch-exporter)', (input, expected) => expect(yaceSnakeCase(input)).toBe(expected));

  test.each([
    ['EndpointName', 'EndpointName'],
    ['Error Type', 'Error_Type'],
    ['9lives', '_9lives'],
    ['a-b.c/d', 'a_b_c_d'],
    ['__reserved', '_reserved'],
    ['', '_'],
  ])('sanitizeLabelName(%j) = %j', (input, expected) => expect(sanitizeLabelName(input)).toBe(expected));

  test('label values keep any UTF-8 but not lone surrogates', () => {
    expect(sanitizeLabelValue('東京 "quoted"\nline', 1024)).toBe('東京 "quoted"\nline');
    expect(sanitizeLabelValue('bad\uD800end', 1024)).toBe('bad\uFFFDend');
  });

  test('a value is kept exactly when it is well-formed and fits; otherwise it comes back well-formed, fitting and hashed', () => {
    const text = fc.string({ unit: fc.oneof(fc.constantFrom('a', 'é', '東', '😀', '\uD800', '\uDC00'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 40 });
    fc.assert(
      fc.property(text, fc.integer({ min: 20, max: 90 }), (value, maxLength) => {
        const got = sanitizeLabelValue(value, maxLength);
        expect(got.isWellFormed()).toBe(true);
        expect(Buffer.byteLength(got, 'utf8')).toBeLessThanOrEqual(maxLength);
        if (value.isWellFormed() && Buffer.byteLength(value, 'utf8') <= maxLength) expect(got).toBe(value);
        else if (Buffer.byteLength(value.toWellFormed(), 'utf8') <= maxLength) expect(got).toBe(value.toWellFormed());
        else expect(got).toMatch(/…[0-9a-f]{12}$/);
      }),
      { numRuns: 3000 },
    );
  });

  test('over-long values are cut to the byte limit with a hash, so distinct values stay distinct', () => {
    const a = sanitizeLabelValue(`${'é'.repeat(600)}a`, 64);
    const b = sanitizeLabelValue(`${'é'.repeat(600)}b`, 64);
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(64);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^é+…[0-9a-f]{12}$/);
  });

  test('metric keys ignore case, spaces, underscores and dashes', () => {
    expect(normalizeMetricKey('NeuronCore Utilization')).toBe(normalizeMetricKey('neuroncore_utilization'));
  });

  test('namespace prefixes', () => {
    expect(namespacePrefix('AWS/SageMaker')).toBe('sage_maker');
    expect(namespacePrefix('/aws/sagemaker/Endpoints')).toBe('sagemaker_endpoints');
    expect(namespacePrefix('neuron_monitor')).toBe('neuron_monitor');
  });
});
