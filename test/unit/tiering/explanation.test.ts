import { CostModel } from '../../../src/tiering/cost';
import { DEFAULT_CATALOG } from '../../../src/tiering/catalog';
import { AUTO, DEFAULT_POLICY, type Decision } from '../../../src/tiering/decision';
import type { DecisionRow } from '../../../src/tiering/decision-repository';
import { explainView } from '../../../src/tiering/explain-view';
import { decodeExplanation, encodeExplanation } from '../../../src/tiering/explanation';
import { PLACEMENTS } from '../../../src/tiering/placements';
import { wayOnOf } from '../../../src/tiering/plan-ahead';
import type { PlanView } from '../../../src/tiering/plan-view';
import { TieringPolicy } from '../../../src/tiering/policy';
import { Predictor } from '../../../src/tiering/predictor';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 1);

/** An explanation as stored before plans were kept (format 1, 24 entries). */
const V1 =
  '[1,3221225472,40,30,11.5,4000000000,2.25,13.75,11.5,2.25,0,4000000000,0.001,0.2,0.214,0.142,0.16,10,90,0,256,250,0,0]';
const STATS = {
  createdAt: NOW - 90 * DAY,
  sizeBytes: 200 * 1024 ** 3,
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
};
const ROW: DecisionRow = {
  dataset_id: 7,
  run_id: 1,
  made_at: NOW,
  action: 'move',
  rule: null,
  from_location: 'PRIVATE',
  from_tier: 'WARM',
  to_location: 'PUBLIC',
  to_tier: 'COLD',
  forecast_accesses: 13.75,
  cost_now_month: 1,
  cost_target_month: 0.5,
  saving_month: 0.5,
  move_cost: 0.1,
  break_even_days: 6,
  catalog_version: 1,
  explanation: V1,
};
const cost = new CostModel(DEFAULT_CATALOG);

describe('stored explanations', () => {
  const policy = new TieringPolicy(cost, new Predictor(), DEFAULT_POLICY);
  const d = policy.decide(
    {
      datasetId: 7,
      current: { location: 'PRIVATE', tier: 'WARM' },
      placedAt: NOW - 40 * DAY,
      lastMoveAt: null,
      sizeBytes: 3 * 1024 ** 3,
      stats: { ...STATS, sizeBytes: 3 * 1024 ** 3 },
      policy: { ...AUTO, maxLatencyMs: 250 },
      moving: false,
    },
    NOW,
  );

  test('when a decision is encoded and decoded, then every stored input comes back exactly, its plan too', () => {
    const e = decodeExplanation(encodeExplanation(d));
    expect(e).toEqual({
      v: 2,
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
      plan: { ...d.plan, later: { ...d.plan!.later, writeBytes: 0 } },
    });
    // The plan looks past the horizon (COLD commits 90 days) and says where each way on goes.
    expect(d.plan!.days).toBeGreaterThan(d.horizonDays);
    expect(PLACEMENTS.map((_, i) => wayOnOf(d.plan!, i)).every((k) => k >= 0 && k < 9)).toBe(true);
  });

  test('when an explanation was stored in the first format, then it decodes as before, without a plan', () => {
    const e = decodeExplanation(V1);
    expect(e).toEqual({
      v: 1,
      size_bytes: 3221225472,
      days_here: 40,
      horizon_days: 30,
      usage: { reads: 11.5, readBytes: 4e9, writes: 2.25, writeBytes: 0 },
      forecast: { accesses: 13.75, reads: 11.5, writes: 2.25, scans: 0, read_bytes: 4e9 },
      features: {
        rate_per_day_1h: 0.001,
        rate_per_day_1d: 0.2,
        rate_per_day_1w: 0.214,
        rate_per_day_30d: 0.142,
        rate_per_day_lifetime: 0.16,
        days_idle: 10,
        age_days: 90,
        scans_per_day: 0,
      },
      excluded_mask: 256,
      max_latency_ms: 250,
      policy_mode: 'auto',
      promotion: false,
    });
    // A first-format decision without a plan is stored in the first format again, unchanged.
    const row = { ...ROW, explanation: V1 };
    const view = explainView(row, cost, policy);
    expect(view.plan).toBeNull();
    expect((view.candidates as { plan: unknown }[]).every((c) => c.plan === null)).toBe(true);
  });

  test('when the text is of another format, then decoding refuses it', () => {
    expect(() => decodeExplanation('[2,1,2]')).toThrow('unknown explanation format');
    expect(() => decodeExplanation(V1.replace('[1,', '[2,'))).toThrow('unknown explanation format');
    expect(() => decodeExplanation('[3' + encodeExplanation(d).slice(2))).toThrow('unknown explanation format');
  });

  test('when a decision is explained, then each allowed candidate shows its plan, adding up to what the policy compared', () => {
    const view = explainView({ ...ROW, ...rowOf(d) }, cost, policy);
    const candidates = view.candidates as { placement: string; excluded: string | null; plan: PlanView | null }[];
    for (const c of candidates) {
      if (c.excluded !== null) {
        expect(c.plan).toBeNull();
        continue;
      }
      const p = c.plan!;
      expect(p.horizon + p.margin + p.move + p.way_on.cost).toBeCloseTo(p.total, 3);
      expect(p.days).toBe(d.plan!.days);
      expect(p.text).toMatch(
        new RegExp(`^${c.placement} now, (stays|then [A-Z]+/[A-Z]+ from day 31) \\(\\$[0-9.]+ over ${p.days} days\\)$`),
      );
    }
    // The policy chose the cheapest plan: its placement's total is the least of the allowed ones.
    const allowed = candidates.filter((c) => c.plan !== null).map((c) => c.plan!.total);
    const chosen = candidates.find((c) => c.placement === `${d.to.location}/${d.to.tier}`)!;
    expect(chosen.plan!.total).toBe(Math.min(...allowed));
    expect(view.plan).toBe(chosen.plan!.text);
    // The way on priced again is the one the decision stored.
    candidates.forEach((c, i) => {
      if (c.plan === null) return;
      const to = c.plan.way_on.to;
      expect(to === null ? i : PLACEMENTS.findIndex((q) => `${q.location}/${q.tier}` === to)).toBe(wayOnOf(d.plan!, i));
    });
  });

  test('when data keeps cooling, then WARM is priced with a later step to COLD and the explanation says so', () => {
    const trend = new Predictor();
    // The fleet's data of 20-80 days reads a twentieth of its last month in the next.
    for (let i = 0; i < 2_000; i++) trend.ageTrend.add(20 + (i % 60), 10, 0.5);
    const p = new TieringPolicy(new CostModel(DEFAULT_CATALOG), trend, { ...DEFAULT_POLICY, minModelUpdates: 0 });
    const cooling = p.decide(
      {
        datasetId: 8,
        current: { location: 'PUBLIC', tier: 'HOT' },
        placedAt: NOW - 40 * DAY,
        lastMoveAt: null,
        sizeBytes: 200 * 1024 ** 3,
        stats: { ...STATS, reads: 30, writes: 1, scans: 0, decay30d: 6, decay1w: 0.5, decay1d: 0.01, decay1h: 0 },
        policy: AUTO,
        moving: false,
      },
      NOW,
    );
    const view = explainView(rowOf(cooling), cost, p);
    const warm = (view.candidates as { placement: string; plan: PlanView | null }[]).find(
      (c) => c.placement === 'PUBLIC/WARM',
    )!;
    expect(warm.plan!.way_on).toMatchObject({ to: 'PUBLIC/COLD', from_day: 31 });
    expect(warm.plan!.text).toMatch(/^PUBLIC\/WARM now, then PUBLIC\/COLD from day 31 \(\$[0-9.]+ over 90 days\)$/);
  });
});

/** A stored row for a decision, as the service makes one (toRow). */
function rowOf(x: Decision): DecisionRow {
  return {
    ...ROW,
    dataset_id: x.datasetId,
    action: x.action,
    rule: x.rule,
    from_location: x.from.location,
    from_tier: x.from.tier,
    to_location: x.to.location,
    to_tier: x.to.tier,
    forecast_accesses: x.forecast.accesses,
    cost_now_month: x.costNowPerMonth,
    cost_target_month: x.costTargetPerMonth,
    saving_month: x.savingPerMonth,
    move_cost: x.moveCost,
    break_even_days: x.breakEvenDays,
    explanation: encodeExplanation(x),
  };
}
