import { join } from 'node:path';
import { moduleOf, summarize } from './profile';

const ROOT = join(__dirname, '..', '..');
const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0 });

describe('bench:profile summary', () => {
  test('self time per function and module, each sample timed by the delta to the next, idle left out', () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', '') },
        { id: 2, callFrame: frame('(idle)', '') },
        { id: 3, callFrame: frame('push', `file://${ROOT}/dist/lambda/bridge/translate.js`, 99) },
        { id: 4, callFrame: frame('compress', `file://${ROOT}/node_modules/snappyjs/index.js`) },
        { id: 5, callFrame: frame('read', `file://${ROOT}/node_modules/@smithy/core/dist-cjs/index.js`, 9) },
        { id: 6, callFrame: frame('(garbage collector)', '') },
      ],
      startTime: 0,
      endTime: 1_000,
      samples: [3, 3, 4, 2, 5, 6, 3],
      timeDeltas: [0, 100, 200, 50, 400, 25, 75],
    };
    const summary = summarize(profile, 3);
    // push: 100 + 200 (its two samples' next deltas) + 0 (the last sample has no next); compress 50; idle 400.
    expect(summary.idleMs).toBeCloseTo(0.4);
    expect(summary.busyMs).toBeCloseTo(0.45);
    expect(summary.functions.map((f) => [f.name, Number(f.ms.toFixed(3))])).toEqual([
      ['push lambda/bridge/translate.ts:100', 0.3],
      ['(garbage collector)', 0.075],
      ['compress snappyjs:1', 0.05],
    ]);
    expect(summary.modules[0]?.share).toBeCloseTo(2 / 3);
    expect(summary.modules.map((m) => m.name)).toEqual(['lambda/bridge/translate.ts', '(garbage collector)', 'snappyjs']);
  });

  test('modules by package, scoped packages by scope and name', () => {
    expect(moduleOf(`file://${ROOT}/node_modules/@smithy/core/dist-cjs/index.js`)).toBe('@smithy/core');
    expect(moduleOf('/elsewhere/node_modules/protobufjs/src/writer.js')).toBe('protobufjs');
    expect(moduleOf('node:internal/crypto/hash')).toBe('node:internal/crypto/hash');
    expect(moduleOf('')).toBe('(native or V8)');
  });
});
