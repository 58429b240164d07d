import { DEFAULT_CATALOG } from '../../../src/tiering/catalog';
import { matrixCell, matrixTable, PRICE_VARIANTS } from '../../../src/tiering/sim/matrix';
import { WORKLOADS } from '../../../src/tiering/sim/workloads';

const variant = (name: string) => PRICE_VARIANTS.find((v) => v.name === name)!;

describe('the robustness matrix', () => {
  test('when a price variant is applied, then it changes what it names and leaves the base catalog alone', () => {
    const before = JSON.stringify(DEFAULT_CATALOG);
    const x3 = variant('cold-retrieval-x3').apply(DEFAULT_CATALOG);
    expect(x3.placements['PUBLIC/COLD']!.retrieval_per_gb).toBeCloseTo(
      3 * DEFAULT_CATALOG.placements['PUBLIC/COLD']!.retrieval_per_gb,
    );
    expect(x3.placements['PUBLIC/WARM']!.retrieval_per_gb).toBe(
      DEFAULT_CATALOG.placements['PUBLIC/WARM']!.retrieval_per_gb,
    );
    const e0 = variant('egress-0').apply(DEFAULT_CATALOG);
    expect(e0.egress_per_gb.PUBLIC.ONPREM).toBe(0);
    const m180 = variant('min-days-180').apply(DEFAULT_CATALOG);
    expect(m180.placements['PUBLIC/COLD']!.min_storage_days).toBe(180);
    expect(m180.placements['PUBLIC/HOT']!.min_storage_days).toBe(0);
    expect(variant('storage-x2').apply(DEFAULT_CATALOG).placements['ONPREM/HOT']!.storage_gb_month).toBeCloseTo(0.16);
    expect(JSON.stringify(DEFAULT_CATALOG)).toBe(before);
  });

  test('when a cell is replayed, then its ratio is the product over the cheapest simple baseline', () => {
    const trace = WORKLOADS['cooling']!.generate({ datasets: 60, days: 40, seed: 2 });
    const cell = matrixCell(trace, DEFAULT_CATALOG, variant('list'));
    expect(['always-hot', 's3-it', 'fabricpool-auto']).toContain(cell.best_baseline);
    expect(cell.ratio).toBeCloseTo(cell.product / cell.best_baseline_total, 10);
  });

  test('when cells are tabled, then each row and column shows its worst and the cells above 1 are counted', () => {
    const cell = (workload: string, v: string, ratio: number) => ({
      workload,
      variant: v,
      product: ratio,
      best_baseline: 's3-it',
      best_baseline_total: 1,
      ratio,
      events: 0,
    });
    const text = matrixTable([
      cell('a', 'list', 0.9),
      cell('a', 'egress-0', 1.2),
      cell('b', 'list', 0.8),
      cell('b', 'egress-0', 0.7),
    ]);
    expect(text).toContain('(1 of 4 cells)');
    expect(text).toMatch(/^a\s+0\.900\s+1\.200\s+1\.200$/m);
    expect(text).toMatch(/^worst\s+0\.900\s+1\.200\s+1\.200$/m);
  });
});
