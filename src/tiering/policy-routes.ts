import { Router } from 'express';
import { Fields, parseId } from '../platform';
import type { DatasetPolicy, PolicyMode } from './decision';
import { LOCATIONS, TIERS, placementKey, type Placement } from './placements';
import type { TieringRouteDeps } from './route-deps';

/** A dataset's own policy: auto, pinned, never-tier, and its latency limit. */
export function datasetPolicyRoutes(d: TieringRouteDeps): Router {
  const r = Router();
  const { tiering, requireWrite } = d;

  r.get('/api/datasets/:id/policy', async (req, res) => {
    const id = parseId(req.params.id);
    await d.datasetExists(id);
    res.json(policyView(id, await tiering.policyOf(id)));
  });

  r.put('/api/datasets/:id/policy', requireWrite, async (req, res) => {
    const id = parseId(req.params.id);
    await d.datasetExists(id);
    const p = parsePolicy(req.body);
    const out = await tiering.setPolicy(id, p);
    res.json({ ...policyView(id, out.policy), move_id: out.move_id });
  });

  return r;
}

const MODES: readonly PolicyMode[] = ['auto', 'pinned', 'never-tier'];

function policyView(id: number, p: DatasetPolicy): Record<string, unknown> {
  return {
    dataset_id: id,
    mode: p.mode,
    pin: p.pin ? { location: p.pin.location, tier: p.pin.tier, placement: placementKey(p.pin) } : null,
    max_latency_ms: p.maxLatencyMs,
  };
}

export function parsePolicy(body: unknown): DatasetPolicy {
  const f: Fields = Fields.of(body, 'body');
  f.only(['mode', 'pin', 'location', 'tier', 'max_latency_ms']);
  const mode = f.optEnum('mode', MODES) ?? 'auto';
  let pin: Placement | null = null;
  if (f.has('pin') && f.raw('pin') !== null) {
    const p: Fields = Fields.of(f.raw('pin'), 'pin');
    p.only(['location', 'tier']);
    const location = p.optEnum('location', LOCATIONS, { caseInsensitive: true });
    const tier = p.optEnum('tier', TIERS, { caseInsensitive: true });
    if (!location) p.fail('location', 'is required');
    if (!tier) p.fail('tier', 'is required');
    pin = { location, tier };
  } else if (f.has('location') || f.has('tier')) {
    const location = f.optEnum('location', LOCATIONS, { caseInsensitive: true });
    const tier = f.optEnum('tier', TIERS, { caseInsensitive: true });
    if (!location) f.fail('location', 'is required with tier');
    if (!tier) f.fail('tier', 'is required with location');
    pin = { location, tier };
  }
  if (mode === 'pinned' && !pin) f.fail('pin', 'is required when mode is pinned ({"location": …, "tier": …})');
  if (mode !== 'pinned' && pin) f.fail('pin', 'is only allowed when mode is pinned');
  const raw = f.raw('max_latency_ms');
  const maxLatencyMs =
    raw === null || raw === undefined ? null : f.optNumber('max_latency_ms', { min: 0, max: 86_400_000 })!;
  return { mode, pin, maxLatencyMs };
}
