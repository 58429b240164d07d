import request from 'supertest';
import { ManualClock } from '../src/platform/clock';
import { API_KEY, DATABASES, startApp, waitFor } from './support/harness';

const key = { 'x-api-key': API_KEY };
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);

describe.each(DATABASES)('on %s', (database) => {
  describe('tiering: decisions, explanations, policies, prices and the scheduler', () => {
    const clock = new ManualClock(T0);
    let s: Awaited<ReturnType<typeof startApp>>;
    const ids: Record<string, number> = {};

    beforeAll(async () => {
      s = await startApp({ SCHEDULER_ENABLED: 'false', POLICY_COOLDOWN: '1d', POLICY_MIN_MODEL_UPDATES: '0' }, clock, {
        database,
      });
      const http = s.app.http;
      for (const name of ['busy', 'idle', 'pinned', 'frozen', 'fast']) {
        ids[name] = (
          await request(http).post('/api/datasets').set(key).send({ name, size_gb: 500 }).expect(201)
        ).body.id;
      }
      // Two months pass: "busy" is read all the time, the others never.
      clock.set(T0 + 60 * DAY);
      const now = clock.now();
      const events = Array.from({ length: 3_000 }, (_, i) => ({
        id: `busy-${i}`,
        dataset_id: ids.busy,
        type: 'read',
        bytes: 200_000_000,
        ts: now - i * 60_000,
      }));
      await request(http).post('/api/events').set(key).send(events).expect(202);
      await waitFor(
        async () => (await request(http).get(`/api/datasets/${ids.busy}`)).body.access_count === 3_000,
        'the events to be applied',
      );
    });
    afterAll(async () => {
      await s?.stop();
    });

    test('when the scheduler runs, then an idle dataset is moved somewhere cheaper with its decision logged, and a busy one stays fast', async () => {
      const http = s.app.http;
      const run = (await request(http).post('/api/scheduler/run').set(key).expect(200)).body;
      expect(run.run.datasets).toBe(5);
      const idleMove = run.applied.find((a: { id: number }) => a.id === ids.idle);
      expect(idleMove).toMatchObject({ from: 'WARM', from_placement: 'PRIVATE/WARM' });
      expect(['PRIVATE/COLD', 'PUBLIC/COLD', 'PUBLIC/WARM', 'ONPREM/COLD']).toContain(idleMove.to_placement);
      expect(run.applied.find((a: { id: number }) => a.id === ids.busy)?.to).not.toBe('COLD');

      const decision = (await request(http).get(`/api/datasets/${ids.idle}/decision`).expect(200)).body;
      expect(decision).toMatchObject({
        stored: true,
        action: 'move',
        rule: null,
        from: { location: 'PRIVATE', tier: 'WARM' },
      });
      expect(decision.candidates).toHaveLength(9);
      expect(decision.saving_per_month).toBeGreaterThan(0);
      expect(decision.break_even_days).toBeGreaterThanOrEqual(0);
      expect(decision.summary).toMatch(/saves \$/);
      const chosen = decision.candidates.find((c: { chosen: boolean }) => c.chosen);
      const current = decision.candidates.find((c: { current: boolean }) => c.current);
      expect(chosen.per_month.total).toBeLessThan(current.per_month.total);
      expect(chosen.per_month.storage).toBeGreaterThan(0);
      // The slow tape tier is ruled out by the default latency requirement, and says so.
      expect(decision.candidates.find((c: { placement: string }) => c.placement === 'ONPREM/COLD').excluded).toMatch(
        /first byte/,
      );

      // The move carries the decision id; once done, the dataset is at its new placement.
      const moves = (await request(http).get(`/api/migrations?dataset_id=${ids.idle}`).expect(200)).body;
      expect(moves[0]).toMatchObject({ reason: 'policy', decision_id: idleMove.decision_id });
      await waitFor(
        async () =>
          (await request(http).get(`/api/datasets/${ids.idle}`)).body.storage_type ===
          idleMove.to_placement.split('/')[0],
        'the move to finish',
      );
      const logged = (await request(http).get(`/api/decisions/${idleMove.decision_id}`).expect(200)).body;
      expect(logged).toMatchObject({ dataset_id: ids.idle, to: { location: idleMove.to_placement.split('/')[0] } });
      // The log keeps the decision's inputs; its costs and forecast are the decision's own, not zeros.
      expect(logged).toMatchObject({
        cost_now_per_month: decision.cost_now_per_month,
        cost_target_per_month: decision.cost_target_per_month,
        saving_per_month: decision.saving_per_month,
        move_cost: decision.move_cost,
        break_even_days: decision.break_even_days,
        forecast: decision.forecast,
      });
      expect(logged.cost_now_per_month).toBeGreaterThan(0);
      // Each allowed placement was priced as a plan (the horizon, then the way on): the log prices
      // the same plans again from its stored inputs, the chosen one the cheapest, its parts adding up.
      type Plan = { horizon: number; margin: number; move: number; total: number; way_on: { cost: number } };
      expect(decision.plan).toMatch(
        /^[A-Z]+\/[A-Z]+ now, (stays|then [A-Z]+\/[A-Z]+ from day 31) \(\$[0-9.]+ over \d+ days\)$/,
      );
      expect(logged.plan).toBe(decision.plan);
      expect(decision.plan_here).toMatch(/^PRIVATE\/WARM now, /);
      expect(decision.plan_here).not.toBe(decision.plan);
      expect(logged.candidates.map((c: { plan: Plan | null }) => c.plan)).toEqual(
        decision.candidates.map((c: { plan: Plan | null }) => c.plan),
      );
      const plans = decision.candidates.filter((c: { plan: Plan | null }) => c.plan !== null);
      expect(chosen.plan.total).toBe(Math.min(...plans.map((c: { plan: Plan }) => c.plan.total)));
      for (const { plan: p } of plans as { plan: Plan }[])
        expect(p.horizon + p.margin + p.move + p.way_on.cost).toBeCloseTo(p.total, 3);
      // A log entry stored in the first format (before plans were kept) is priced again as before, without plans.
      const entry = (await s.app.tiering.repo.decisions.logged(idleMove.decision_id))!;
      const v1 = JSON.stringify([1, ...(JSON.parse(entry.explanation) as unknown[]).slice(1, 24)]);
      await s.app.database.db
        .updateTable('decision_log')
        .set({ explanation: v1 })
        .where('id', '=', idleMove.decision_id)
        .execute();
      const old = (await request(http).get(`/api/decisions/${idleMove.decision_id}`).expect(200)).body;
      const { plan: _p, plan_here: _h, plan_days: _d, candidates: oldCandidates, ...oldFigures } = old;
      const { plan: _q, plan_here: _i, plan_days: _e, candidates: newCandidates, ...newFigures } = logged;
      expect(old).toMatchObject({ plan: null, plan_here: null, plan_days: null });
      expect(oldFigures).toEqual(newFigures);
      expect(oldCandidates).toEqual(newCandidates.map((c: { plan: Plan | null }) => ({ ...c, plan: null })));
      await s.app.database.db
        .updateTable('decision_log')
        .set({ explanation: entry.explanation })
        .where('id', '=', idleMove.decision_id)
        .execute();
      // Judged after the fact only once its horizon has passed: until then it is pending and not counted.
      const hindsight = (await request(http).get('/api/model').expect(200)).body.hindsight;
      expect(
        hindsight.latest.find((j: { decision_id: number }) => j.decision_id === idleMove.decision_id),
      ).toMatchObject({
        ended_by: 'pending',
        regretted: false,
        from: 'PRIVATE/WARM',
        to: idleMove.to_placement,
      });
      expect(hindsight).toMatchObject({ judged: 0, regretted: 0, regretted_share: null });
      const listed = (await request(http).get('/api/decisions').expect(200)).body;
      expect(listed.find((x: { decision_id: number }) => x.decision_id === idleMove.decision_id)).toMatchObject({
        cost_now_per_month: decision.cost_now_per_month,
        move_cost: decision.move_cost,
      });
    });

    test('when datasets are pinned, never tiered or need low latency, then the scheduler obeys and says why', async () => {
      const http = s.app.http;
      const pin = (
        await request(http)
          .put(`/api/datasets/${ids.pinned}/policy`)
          .set(key)
          .send({ mode: 'pinned', pin: { location: 'ONPREM', tier: 'HOT' } })
          .expect(200)
      ).body;
      expect(pin).toMatchObject({ mode: 'pinned', pin: { placement: 'ONPREM/HOT' } });
      expect(pin.move_id).toEqual(expect.any(Number));
      await waitFor(
        async () => (await request(http).get(`/api/datasets/${ids.pinned}`)).body.current_tier === 'HOT',
        'the pin move',
      );
      await request(http).put(`/api/datasets/${ids.frozen}/policy`).set(key).send({ mode: 'never-tier' }).expect(200);
      await request(http)
        .put(`/api/datasets/${ids.fast}/policy`)
        .set(key)
        .send({ mode: 'auto', max_latency_ms: 5 })
        .expect(200);

      clock.advance(2 * DAY);
      const run = (await request(http).post('/api/scheduler/run').set(key).expect(200)).body;
      const movedIds = run.applied.map((a: { id: number }) => a.id);
      expect(movedIds).not.toContain(ids.pinned);
      expect(movedIds).not.toContain(ids.frozen);
      expect((await request(http).get(`/api/datasets/${ids.pinned}/decision`)).body).toMatchObject({
        action: 'stay',
        rule: 'pin',
      });
      expect((await request(http).get(`/api/datasets/${ids.frozen}/decision`)).body).toMatchObject({
        action: 'stay',
        rule: 'never-tier',
      });
      const fast = (await request(http).get(`/api/datasets/${ids.fast}/decision`)).body;
      for (const c of fast.candidates) if (c.first_byte_ms > 5 && !c.current) expect(c.excluded).toMatch(/first byte/);
      expect(
        fast.candidates.find((c: { chosen: boolean }) => c.chosen).first_byte_ms <= 5 || fast.action === 'stay',
      ).toBe(true);

      // Bad policies name the field.
      const bad = await request(http)
        .put(`/api/datasets/${ids.fast}/policy`)
        .set(key)
        .send({ mode: 'pinned' })
        .expect(400);
      expect(bad.body.detail).toMatch(/pin/);
      expect(
        (await request(http).put(`/api/datasets/${ids.fast}/policy`).set(key).send({ mode: 'sometimes' }).expect(400))
          .body.detail,
      ).toMatch(/mode/);
      expect(
        (
          await request(http)
            .put(`/api/datasets/${ids.fast}/policy`)
            .set(key)
            .send({ mode: 'pinned', pin: { location: 'MOON', tier: 'HOT' } })
            .expect(400)
        ).body.detail,
      ).toMatch(/pin.location|location/);
      await request(http).put('/api/datasets/999999/policy').set(key).send({ mode: 'auto' }).expect(404);
      await request(http).put(`/api/datasets/${ids.fast}/policy`).send({ mode: 'auto' }).expect(401);
    });

    test('when recommendations are listed, then they carry the seed fields and the explanation link', async () => {
      const http = s.app.http;
      await request(http).put('/api/scheduler/settings').set(key).send({ budget_moves: 0 }).expect(200);
      const moreIdle = (
        await request(http).post('/api/datasets').set(key).send({ name: 'idle-2', size_gb: 800 }).expect(201)
      ).body.id;
      clock.advance(40 * DAY);
      const run = (await request(http).post('/api/scheduler/run').set(key).expect(200)).body;
      expect(run.applied).toEqual([]);
      expect(run.run.held.budget).toBeGreaterThanOrEqual(1);
      const recs = (await request(http).get('/api/recommendations').expect(200)).body;
      const r = recs.find((x: { id: number }) => x.id === moreIdle);
      expect(r).toMatchObject({
        name: 'idle-2',
        size_gb: 800,
        current_tier: 'WARM',
        action: 'held',
        held_by: 'budget',
        decision: `/api/datasets/${moreIdle}/decision`,
      });
      expect(r.recommended_tier).not.toBe('WARM');
      expect(r.estimated_monthly_saving_usd).toBeGreaterThan(0);
      expect(typeof r.score).toBe('number');
      // Every dataset is listed, as the original demo did: a stay is a recommendation too, and a
      // dataset created since the last run is decided on the spot.
      const fresh = (
        await request(http).post('/api/datasets').set(key).send({ name: 'new-one', size_gb: 1 }).expect(201)
      ).body.id;
      const all = await request(http).get('/api/recommendations?limit=1000').expect(200);
      const count = (await request(http).get('/api/datasets?limit=1').expect(200)).headers['x-total-count'];
      expect(all.headers['x-total-count']).toBe(count);
      expect(all.body).toHaveLength(Number(count));
      expect(all.body.find((x: { id: number }) => x.id === fresh)).toMatchObject({
        name: 'new-one',
        stored: false,
        recommended_tier: expect.any(String),
      });
      expect(all.body.some((x: { action: string }) => x.action === 'stay')).toBe(true);
      expect(all.body[0].action).not.toBe('stay');
      await request(http).put('/api/scheduler/settings').set(key).send({ budget_moves: 10_000 }).expect(200);
      expect(
        (await request(http).put('/api/scheduler/settings').set(key).send({ interval_ms: 5 }).expect(400)).body.detail,
      ).toMatch(/interval_ms/);
      expect(
        (await request(http).put('/api/scheduler/settings').set(key).send({ budget: 1 }).expect(400)).body.detail,
      ).toMatch(/budget/);
    });

    test('when the price catalog changes, then it is validated, versioned, and old decisions stay explainable', async () => {
      const http = s.app.http;
      const before = (await request(http).get('/api/catalog').expect(200)).body;
      expect(before.placements['PUBLIC/COLD']).toMatchObject({
        storage_gb_month: 0.004,
        min_storage_days: 90,
        min_billable_bytes: 131072,
      });
      const bad = await request(http)
        .put('/api/catalog')
        .set(key)
        .send({ placements: { 'PUBLIC/COLD': { storage_gb_month: -1 } } })
        .expect(400);
      expect(bad.body.detail).toMatch(/placements\.PUBLIC\/COLD\.storage_gb_month/);
      await request(http)
        .put('/api/catalog')
        .set(key)
        .send({ placements: { 'MARS/COLD': {} } })
        .expect(400);
      const oldDecision = (await request(http).get(`/api/datasets/${ids.busy}/decision`).expect(200)).body;
      const after = (
        await request(http)
          .put('/api/catalog')
          .set(key)
          .send({ placements: { 'ONPREM/HOT': { storage_gb_month: 0.5 } }, note: 'flash got dear' })
          .expect(200)
      ).body;
      expect(after.version).toBe(before.version + 1);
      expect(after.changed).toBe(true);
      // The same prices again make no version.
      const same = (
        await request(http)
          .put('/api/catalog')
          .set(key)
          .send({ placements: { 'ONPREM/HOT': { storage_gb_month: 0.5 } }, note: 'again' })
          .expect(200)
      ).body;
      expect(same).toMatchObject({ version: after.version, changed: false });
      expect(after.placements['ONPREM/HOT'].storage_gb_month).toBe(0.5);
      expect(after.placements['PUBLIC/COLD'].storage_gb_month).toBe(0.004);
      const versions = (await request(http).get('/api/catalog/versions').expect(200)).body;
      expect(versions[0]).toMatchObject({ version: after.version, note: 'flash got dear' });
      const again = (await request(http).get(`/api/datasets/${ids.busy}/decision`).expect(200)).body;
      expect(again.catalog_version).toBe(oldDecision.catalog_version);
      expect(again.candidates).toEqual(oldDecision.candidates);
    });

    test('when forecasts mature, then the model trains on them and reports its quality against the seed baselines', async () => {
      const http = s.app.http;
      const model0 = (await request(http).get('/api/model').expect(200)).body;
      expect(model0.pending).toBeGreaterThan(0);
      clock.advance(31 * DAY);
      await request(http).post('/api/scheduler/run').set(key).expect(200);
      const model = (await request(http).get('/api/model').expect(200)).body;
      expect(model.observations).toBeGreaterThan(0);
      expect(model.model.updates).toBeGreaterThan(model0.model.updates);
      // The idle dataset's first move (pending in the first test), judged once its horizon passed: paid back, as nobody read it.
      type Judged = { dataset_id: number; ended_by: string; realised_saving: number; regretted: boolean };
      const firstIdleMove = (h: { latest: Judged[] }): Judged | undefined =>
        h.latest.filter((j) => j.dataset_id === ids.idle).at(-1);
      const judged = firstIdleMove(model.hindsight);
      expect(judged).toMatchObject({ ended_by: 'horizon', regretted: false });
      expect(judged!.realised_saving).toBeGreaterThan(0);
      expect(model.hindsight.judged).toBeGreaterThanOrEqual(1);
      expect(model.hindsight.regretted_share).toBe(model.hindsight.regretted / model.hindsight.judged);
      expect(model.hindsight.realised_saving).toBeGreaterThan(0);
      // What the fleet taught, with what each rests on: the read split from the fleet's accesses
      // ("busy" alone has 3,000), the age trend from the forecasts that matured, the return curve.
      const fleet = model.learnt_from_fleet;
      expect(model0.learnt_from_fleet.age_trend.matured_forecasts).toBe(model0.model.updates);
      expect(fleet.read_split).toMatchObject({ learnt: true, min_accesses: 1_000 });
      expect(fleet.read_split.accesses).toBeGreaterThanOrEqual(3_000);
      expect(fleet.read_split.datasets).toBeGreaterThanOrEqual(1);
      // The run just summed the same statistics: what it prices with is what the fleet says now.
      expect(fleet.read_split.in_use).toEqual({
        share: fleet.read_split.share,
        weight_accesses: fleet.read_split.weight_accesses,
      });
      expect(fleet.age_trend.matured_forecasts).toBe(model.model.updates);
      expect(fleet.age_trend.bins).toHaveLength(12);
      const taught = fleet.age_trend.bins.filter((b: { last_month_accesses: number }) => b.last_month_accesses > 0);
      expect(taught.length).toBeGreaterThan(0);
      for (const b of fleet.age_trend.bins) expect(b.ratio).toBeGreaterThan(0);
      for (const b of fleet.age_trend.bins) expect(b.ratio).toBeLessThanOrEqual(1);
      expect(fleet.return_curve.dataset_days).toBeGreaterThanOrEqual(0);
      expect(fleet.return_curve.read_again.map((r: { idle_days: number }) => r.idle_days)).toEqual([7, 30]);
      for (const part of ['read_split', 'age_trend', 'return_curve'])
        expect(fleet[part].what_it_changes).toEqual(expect.any(String));
      // The run learnt the fleet's read share: "busy" read 200 MB at a time of its 500 GB.
      const share = 200_000_000 / (500 * 1024 ** 3);
      expect(model.model.read_share).toBeCloseTo(share, 7);
      // Reads sent without bytes say nothing of read sizes: they leave the share as it was.
      const now = clock.now();
      const blind = Array.from({ length: 2_000 }, (_, i) => ({
        id: `frozen-${i}`,
        dataset_id: ids.frozen,
        type: 'read',
        ts: now - i * 1_000,
      }));
      await request(http).post('/api/events').set(key).send(blind).expect(202);
      await waitFor(
        async () => (await request(http).get(`/api/datasets/${ids.frozen}`)).body.access_count === 2_000,
        'the events to be applied',
      );
      await request(http).post('/api/scheduler/run').set(key).expect(200);
      expect((await request(http).get('/api/model').expect(200)).body.model.read_share).toBeCloseTo(share, 7);
      expect(model.mae_log).toEqual({
        model: expect.any(Number),
        seed_regression: expect.any(Number),
        seed_ewma: expect.any(Number),
      });
      expect(model.calibration.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(model.observations);
      const p = (await request(http).get(`/api/ml/predict/${ids.busy}?hours=24&bucket_minutes=60`).expect(200)).body;
      expect(p).toMatchObject({ dataset_id: ids.busy, predicted_mean_per_bucket: expect.any(Number) });
    });

    test('when two runs are asked for at once, then they do not overlap: the second joins the first', async () => {
      const http = s.app.http;
      const [a, b] = await Promise.all([
        request(http).post('/api/scheduler/run').set(key),
        request(http).post('/api/scheduler/run').set(key),
      ]);
      expect(a.status).toBe(200);
      expect(b.body.run.run_id).toBe(a.body.run.run_id);
      const sched = (await request(http).get('/api/scheduler').expect(200)).body;
      expect(sched.runs[0]).toMatchObject({ id: a.body.run.run_id, error: null });
      expect(sched.settings.enabled).toBe(false);
    });

    test('when the recorded history is replayed, then the trace holds the datasets and their accesses and every policy is priced', async () => {
      const tiering = s.app.tiering;
      const out = await tiering.replay({
        days: 90,
        datasets: 100,

        catalog: tiering.catalog.catalog,
        catalogLabel: 'current',
        settings: tiering.settings,
      });
      expect(out.request).toMatchObject({ days: 90, catalog: 'current' });
      expect(out.request.datasets).toBe(out.request.datasets_total);
      expect(out.request.datasets).toBeGreaterThanOrEqual(5);
      expect(out.history_events).toBeGreaterThanOrEqual(3_000);
      expect(out.thinning).toBe(1);
      expect(out.result.events).toBe(out.history_events);
      expect(out.result.policies.map((p) => p.policy)).toEqual(
        expect.arrayContaining(['product', 'always-hot', 's3-it', 'fabricpool-auto', 'optimum']),
      );
      const optimum = out.result.policies.find((p) => p.policy === 'optimum')!;
      for (const p of out.result.policies) expect(p.total).toBeGreaterThanOrEqual(optimum.total - 0.01);
      // The same history under every price variant: the product against the cheapest simple rule.
      expect(out.matrix.cells.map((c) => c.variant)).toEqual([
        'list',
        'egress-0',
        'cold-retrieval-x3',
        'storage-x0.5',
        'storage-x2',
        'min-days-0',
        'min-days-180',
      ]);
      expect(out.matrix.datasets).toBe(Math.min(out.request.datasets, 300));
      expect(out.matrix.events).toBe(out.history_events);
      for (const c of out.matrix.cells) {
        expect(['always-hot', 's3-it', 'fabricpool-auto']).toContain(c.best_baseline);
        expect(c.ratio).toBeCloseTo(c.product / c.best_baseline_total, 9);
      }
      // Dearer storage costs every policy more: the variants were really applied.
      const at = (v: string) => out.matrix.cells.find((c) => c.variant === v)!;
      expect(at('storage-x2').best_baseline_total).toBeGreaterThan(at('list').best_baseline_total);
    });

    test('when a pinned dataset is moved by hand, then the API asks (409 naming pinned) and obeys the choice', async () => {
      const http = s.app.http;
      const make = async (name: string) => {
        const id = (await request(http).post('/api/datasets').set(key).send({ name, size_gb: 1 }).expect(201)).body
          .id as number;
        await request(http)
          .put(`/api/datasets/${id}/policy`)
          .set(key)
          .send({ mode: 'pinned', pin: { location: 'PRIVATE', tier: 'WARM' } })
          .expect(200);
        return id;
      };
      const a = await make('pinned-a');
      const asked = await request(http)
        .post(`/api/datasets/${a}/moves`)
        .set(key)
        .send({ location: 'PUBLIC', tier: 'COLD' })
        .expect(409);
      expect(asked.body).toMatchObject({ field: 'pinned', pin: 'PRIVATE/WARM', options: ['unpin', 'pin'] });
      expect(asked.body.detail).toMatch(/^pinned: /);
      await request(http)
        .post(`/api/datasets/${a}/moves`)
        .set(key)
        .send({ location: 'PUBLIC', tier: 'COLD', pinned: 'sometimes' })
        .expect(400);
      // Pin to the target: the pin queues the move.
      const pinned = (
        await request(http)
          .post(`/api/datasets/${a}/moves`)
          .set(key)
          .send({ location: 'PUBLIC', tier: 'COLD', pinned: 'pin' })
          .expect(202)
      ).body;
      expect(pinned).toMatchObject({ reason: 'pin', to: { location: 'PUBLIC', tier: 'COLD' } });
      expect((await request(http).get(`/api/datasets/${a}/policy`)).body).toMatchObject({
        mode: 'pinned',
        pin: { placement: 'PUBLIC/COLD' },
      });
      // Unpin and move: the policy is auto again and the move is a manual one.
      const b = await make('pinned-b');
      const moved = (
        await request(http)
          .post(`/api/datasets/${b}/moves`)
          .set(key)
          .send({ location: 'ONPREM', tier: 'HOT', pinned: 'unpin' })
          .expect(202)
      ).body;
      expect(moved).toMatchObject({ reason: 'manual', to: { location: 'ONPREM', tier: 'HOT' } });
      expect((await request(http).get(`/api/datasets/${b}/policy`)).body).toMatchObject({ mode: 'auto' });
    });

    test("when the fleet's first reads are summed, then every dataset falls in one age bin and the unread are counted", async () => {
      const tiering = s.app.tiering;
      const now = Date.now();
      const totals = await tiering.repo.scan.firstReadTotals(now);
      const count = await tiering.repo.history.datasetCount();
      expect(totals.datasets.reduce((a, b) => a + b, 0)).toBe(count);
      const unread = totals.unread.reduce((a, b) => a + b, 0);
      expect(unread).toBeGreaterThanOrEqual(0);
      expect(unread).toBeLessThan(count); // some datasets here were read
      // A cut-off before every creation: no dataset is counted.
      expect((await tiering.repo.scan.firstReadTotals(0)).datasets.every((n) => n === 0)).toBe(true);
    });
  });
});
