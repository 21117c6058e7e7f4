import type { SpanDetail } from '@telemetry/core';
import { describe, expect, it } from 'vitest';
import { microsToIso } from './time.ts';
import { ancestorsOf, axisTicks, buildTree, layoutRows } from './waterfall.ts';

const T0 = Date.UTC(2026, 2, 1, 12) * 1000;

/** A span starting `start` µs after T0, lasting `duration` µs. */
function span(
  id: string,
  parent: string | null,
  start: number,
  duration: number,
  extra: Partial<SpanDetail> = {},
): SpanDetail {
  return {
    trace_id: 'a'.repeat(32),
    span_id: id,
    parent_span_id: parent,
    name: `span ${id}`,
    service_name: 'svc',
    kind: 'internal',
    status: 'ok',
    status_message: null,
    start_time: microsToIso(T0 + start),
    end_time: microsToIso(T0 + start + duration),
    duration_ms: duration / 1000,
    attributes: {},
    ...extra,
  };
}

describe('buildTree', () => {
  it('nests spans under their parents, children by start time, depth first', () => {
    const tree = buildTree([
      span('c2', 'root', 500, 100),
      span('root', null, 0, 1000),
      span('c1', 'root', 100, 300),
      span('g1', 'c1', 150, 50),
    ]);
    expect(tree.roots).toEqual(['root']);
    expect(tree.order).toEqual(['root', 'c1', 'g1', 'c2']);
    expect(tree.nodes.get('g1')).toMatchObject({ depth: 2, parent: 'c1', remoteParent: false });
    expect(tree.nodes.get('root')!.children).toEqual(['c1', 'c2']);
    expect(tree.startMicros).toBe(T0);
    expect(tree.endMicros).toBe(T0 + 1000);
  });

  it('ties on start time are broken by span id, so the order is stable', () => {
    const tree = buildTree([span('b', 'r', 10, 1), span('a', 'r', 10, 1), span('r', null, 0, 20)]);
    expect(tree.order).toEqual(['r', 'a', 'b']);
  });

  it('marks a span whose parent is not in the trace as having a remote parent', () => {
    const tree = buildTree([span('root', 'ffffffffffffffff', 0, 10), span('kid', 'root', 1, 2)]);
    expect(tree.roots).toEqual(['root']);
    expect(tree.nodes.get('root')!.remoteParent).toBe(true);
    expect(tree.nodes.get('kid')!.remoteParent).toBe(false);
  });

  it('lists every span once whatever the parent links: self-parent, cycles, duplicates', () => {
    const tree = buildTree([
      span('self', 'self', 0, 10),
      span('a', 'b', 20, 5),
      span('b', 'a', 21, 5),
      span('c', 'b', 22, 1),
      span('a', null, 99, 1), // a duplicate id: the first one stands
    ]);
    expect([...tree.order].sort()).toEqual(['a', 'b', 'c', 'self']);
    expect(tree.order).toHaveLength(4);
    expect(tree.nodes.get('self')).toMatchObject({ depth: 0, remoteParent: false });
    // The cycle a <-> b is broken at its earliest span.
    expect(tree.roots).toEqual(['self', 'a']);
    expect(tree.order).toEqual(['self', 'a', 'b', 'c']);
    expect(tree.nodes.get('c')!.depth).toBe(2);
  });

  it('handles a chain 20,000 deep without recursion', () => {
    const spans = Array.from({ length: 20_000 }, (_, i) =>
      span(`s${i}`, i === 0 ? null : `s${i - 1}`, i, 20_000 - i),
    );
    const tree = buildTree(spans);
    expect(tree.order).toHaveLength(20_000);
    expect(tree.nodes.get('s19999')!.depth).toBe(19_999);
    expect(ancestorsOf(tree, 's19999')).toHaveLength(19_999);
    expect(tree.nodes.get('s0')!.errorsBelow).toBe(0);
  });

  it('puts spans whose times do not parse at the axis start, zero long', () => {
    const tree = buildTree([
      span('ok', null, 100, 50),
      { ...span('bad', 'ok', 0, 0), start_time: 'not a time', end_time: 'nope' },
      { ...span('neg', 'ok', 120, 0), end_time: microsToIso(T0 + 110) }, // ends before it starts
    ]);
    expect(tree.startMicros).toBe(T0 + 100);
    expect(tree.nodes.get('bad')).toMatchObject({ startMicros: T0 + 100, endMicros: T0 + 100 });
    expect(tree.nodes.get('neg')).toMatchObject({ startMicros: T0 + 120, endMicros: T0 + 120 });
  });

  it('counts errors below each span', () => {
    const tree = buildTree([
      span('r', null, 0, 100),
      span('a', 'r', 1, 10, { status: 'error' }),
      span('b', 'a', 2, 5, { status: 'error' }),
      span('c', 'r', 20, 5),
    ]);
    expect(tree.nodes.get('r')!.errorsBelow).toBe(2);
    expect(tree.nodes.get('a')!.errorsBelow).toBe(1);
    expect(tree.nodes.get('c')!.errorsBelow).toBe(0);
  });

  it('an empty trace is an empty tree', () => {
    const tree = buildTree([]);
    expect(tree).toMatchObject({ roots: [], order: [], startMicros: 0, endMicros: 0 });
    expect(layoutRows(tree, new Set())).toEqual([]);
  });
});

describe('layoutRows', () => {
  const spans = [
    span('root', null, 0, 1000),
    span('c1', 'root', 100, 300, { status: 'error' }),
    span('g1', 'c1', 150, 50, { status: 'error' }),
    span('c2', 'root', 500, 500),
  ];

  it('places bars by start and length as fractions of the trace', () => {
    const rows = layoutRows(buildTree(spans), new Set());
    expect(rows.map((r) => [r.spanId, r.depth, r.offset, r.width, r.error])).toEqual([
      ['root', 0, 0, 1, false],
      ['c1', 1, 0.1, 0.3, true],
      ['g1', 2, 0.15, 0.05, true],
      ['c2', 1, 0.5, 0.5, false],
    ]);
  });

  it('hides the descendants of a collapsed span and counts their errors', () => {
    const tree = buildTree(spans);
    const rows = layoutRows(tree, new Set(['c1']));
    expect(rows.map((r) => r.spanId)).toEqual(['root', 'c1', 'c2']);
    expect(rows[1]).toMatchObject({ collapsed: true, hasChildren: true, hiddenErrors: 1 });
    const all = layoutRows(tree, new Set(['root']));
    expect(all.map((r) => r.spanId)).toEqual(['root']);
    expect(all[0]!.hiddenErrors).toBe(2);
    // Collapsing a leaf changes nothing.
    expect(layoutRows(tree, new Set(['g1'])).map((r) => r.collapsed)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it('keeps every bar inside the axis, and a zero-length trace at the start', () => {
    const rows = layoutRows(buildTree([span('a', null, 0, 0), span('b', 'a', 0, 0)]), new Set());
    for (const row of rows) expect(row).toMatchObject({ offset: 0, width: 0 });
    const wide = layoutRows(
      buildTree([span('r', null, 0, 10), span('late', 'r', 9, 1_000_000)]),
      new Set(),
    );
    for (const row of wide) {
      expect(row.offset).toBeGreaterThanOrEqual(0);
      expect(row.offset + row.width).toBeLessThanOrEqual(1 + 1e-12);
    }
  });
});

describe('ancestorsOf', () => {
  it('lists the spans above one, nearest first; none for a root or an unknown id', () => {
    const tree = buildTree([span('r', null, 0, 9), span('a', 'r', 1, 5), span('b', 'a', 2, 1)]);
    expect(ancestorsOf(tree, 'b')).toEqual(['a', 'r']);
    expect(ancestorsOf(tree, 'r')).toEqual([]);
    expect(ancestorsOf(tree, 'zzz')).toEqual([]);
  });
});

describe('axisTicks', () => {
  it('steps by 1, 2 or 5 times a power of ten', () => {
    expect(axisTicks(1_000_000).map((t) => t.ms)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(axisTicks(127_300).map((t) => t.ms)).toEqual([0, 50, 100]);
    expect(axisTicks(40).map((t) => t.ms)).toEqual([0, 0.01, 0.02, 0.03, 0.04]);
    for (const tick of axisTicks(987_654)) {
      expect(tick.offset).toBeGreaterThanOrEqual(0);
      expect(tick.offset).toBeLessThanOrEqual(1);
    }
  });

  it('a zero or invalid span gives one tick at 0', () => {
    expect(axisTicks(0)).toEqual([{ offset: 0, ms: 0 }]);
    expect(axisTicks(Number.NaN)).toEqual([{ offset: 0, ms: 0 }]);
  });
});
