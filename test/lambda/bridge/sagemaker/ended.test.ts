import { isEnded } from '../../../../lambda/bridge/sagemaker/ended';
import { componentEndedKey } from '../../../../lambda/bridge/sagemaker/metadata';

const dims = (d: Record<string, string>) => Object.entries(d).map(([Name, Value]) => ({ Name, Value }));

describe('isEnded', () => {
  const ended = { gone: 1, 'live/old': 2, [componentEndedKey('ic-1')]: 3 };

  test('an ended endpoint ends all its metrics; an ended variant only its own; an ended component its own', () => {
    expect(isEnded(ended, dims({ EndpointName: 'gone', VariantName: 'any' }))).toBe(true);
    expect(isEnded(ended, dims({ EndpointName: 'gone' }))).toBe(true);
    expect(isEnded(ended, dims({ EndpointName: 'live', VariantName: 'old' }))).toBe(true);
    expect(isEnded(ended, dims({ EndpointName: 'live', VariantName: 'new' }))).toBe(false);
    expect(isEnded(ended, dims({ EndpointName: 'live' }))).toBe(false);
    expect(isEnded(ended, dims({ InferenceComponentName: 'ic-1' }))).toBe(true);
    expect(isEnded(ended, dims({ InferenceComponentName: 'ic-2', EndpointName: 'live' }))).toBe(false);
  });

  test('metrics of no endpoint (Neuron hosts) never end this way; nothing ended, nothing ends', () => {
    expect(isEnded(ended, dims({ InstanceId: 'i-1' }))).toBe(false);
    expect(isEnded({}, dims({ EndpointName: 'gone' }))).toBe(false);
  });
});
