import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { answerKey, compareAnswers, DEMO_QUERIES } from '../../demo/demo-queries';

describe('the demo checks its answers', () => {
  const truth = new Map([
    [answerKey({ endpoint_name: 'churn-predictor' }), 2.78],
    [answerKey({ endpoint_name: 'image-classifier' }), 1.53],
  ]);

  test('answers within 5% pass', () => {
    expect(compareAnswers(truth, new Map([...truth].map(([k, v]) => [k, v * 1.049])))).toEqual([]);
  });

  test('an answer off by more than 5% fails, naming the series and how far off', () => {
    // What rate(...[5m]) read on bridge data: the window held two samples, extrapolated to about 45%.
    const answers = new Map(truth);
    answers.set(answerKey({ endpoint_name: 'churn-predictor' }), 1.25);
    expect(compareAnswers(truth, answers)).toEqual(['endpoint_name="churn-predictor": 1.25 is off the true 2.78 by 55.0%']);
  });

  test('missing and unexpected series fail', () => {
    const answers = new Map([[answerKey({ endpoint_name: 'churn-predictor' }), 2.78], [answerKey({ endpoint_name: 'other' }), 1]]);
    expect(compareAnswers(truth, answers)).toEqual(['endpoint_name="image-classifier": no answer (expected 1.53)', 'endpoint_name="other": an answer the stand-in has no truth for']);
  });

  test('the README suggests exactly the queries the demo checks', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const block = /```promql\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const suggested = block.split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter(Boolean);
    expect(suggested).toEqual(DEMO_QUERIES.map((q) => q.promql));
  });
});
