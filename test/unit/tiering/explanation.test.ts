import { CostModel } from '../../../src/tiering/cost';
import { DEFAULT_CATALOG } from '../../../src/tiering/catalog';
import { AUTO, DEFAULT_POLICY } from '../../../src/tiering/decision';
import { decodeExplanation, encodeExplanation } from '../../../src/tiering/explanation';
import { TieringPolicy } from '../../../src/tiering/policy';
import { Predictor } from '../../../src/tiering/predictor';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 1);

describe('stored explanations', () => {
  const policy = new TieringPolicy(new CostModel(DEFAULT_CATALOG), new Predictor(), DEFAULT_POLICY);
  const d = policy.decide(
    {
      datasetId: 7,
      current: { location: 'PRIVATE', tier: 'WARM' },
      placedAt: NOW - 40 * DAY,
      lastMoveAt: null,
      sizeBytes: 3 * 1024 ** 3,
      stats: {
        createdAt: NOW - 90 * DAY,
        sizeBytes: 3 * 1024 ** 3,
        reads: 12,
        writes: 3,
        scans: 1,
        bytesRead: 5e9,
        decayAt: NOW - 10 * DAY,
        decay1h: 0.001,
        decay1d: 0.2,
        decay1w: 1.5,
        decay30d: 4.25,
        firstAccess: NOW - 80 * DAY,
      },
      policy: { ...AUTO, maxLatencyMs: 250 },
      moving: false,
    },
    NOW,
  );

  test('when a decision is encoded and decoded, then every stored input comes back exactly', () => {
    const e = decodeExplanation(encodeExplanation(d));
    expect(e).toEqual({
      v: 1,
      size_bytes: d.sizeBytes,
      days_here: d.daysHere,
      horizon_days: d.horizonDays,
      usage: { ...d.usage, writeBytes: 0 },
      forecast: d.forecast,
      features: d.features,
      excluded_mask: d.excludedMask,
      max_latency_ms: 250,
      policy_mode: 'auto',
      promotion: d.promotion,
    });
  });

  test('when the text is of another format, then decoding refuses it', () => {
    expect(() => decodeExplanation('[2,1,2]')).toThrow('unknown explanation format');
  });
});
