/**
 * The waterfall of a trace: spans as a tree (children by start time), laid
 * out as rows with bars on one time axis. Stored data may be hostile (a span
 * that is its own parent, a cycle, a chain 10,000 deep, duplicate ids, times
 * that do not parse): every span is listed exactly once, without recursion,
 * and every bar stays inside the axis. Pure functions: no DOM.
 */
import type { SpanDetail } from '@telemetry/core';
import { isoToMicros } from './time.ts';

export interface SpanNode {
  readonly span: SpanDetail;
  readonly startMicros: number;
  readonly endMicros: number;
  /** Ids of the spans listed under this one, earliest start first. */
  readonly children: readonly string[];
  /** The parent this span names is not in the trace (another process's span, or one past the page's span limit). */
  readonly remoteParent: boolean;
  /** The parent listed above it in the tree, or null for a top-level row. */
  readonly parent: string | null;
  readonly depth: number;
  /** Spans in error below this one (not counting itself). */
  readonly errorsBelow: number;
}

export interface WaterfallTree {
  readonly nodes: ReadonlyMap<string, SpanNode>;
  /** Top-level spans, earliest first: roots, spans with a parent outside the trace, and cycle breakers. */
  readonly roots: readonly string[];
  /** Every span id in display order with nothing collapsed (depth first). */
  readonly order: readonly string[];
  /** The axis: earliest span start and latest span end, epoch microseconds. */
  readonly startMicros: number;
  readonly endMicros: number;
}

interface Draft {
  span: SpanDetail;
  startMicros: number;
  endMicros: number;
  children: string[];
  remoteParent: boolean;
  parent: string | null;
  depth: number;
  errorsBelow: number;
}

const byStart = (nodes: Map<string, Draft>) => (a: string, b: string) => {
  const x = nodes.get(a)!;
  const y = nodes.get(b)!;
  return x.startMicros - y.startMicros || (a < b ? -1 : a > b ? 1 : 0);
};

/** Builds the tree of a trace's spans (as `getTraceDetail` lists them). */
export function buildTree(spans: readonly SpanDetail[]): WaterfallTree {
  const nodes = new Map<string, Draft>();
  for (const span of spans) {
    if (nodes.has(span.span_id)) continue; // a duplicate id: the first one stands
    let startMicros = isoToMicros(span.start_time);
    let endMicros = isoToMicros(span.end_time);
    if (!Number.isFinite(startMicros)) startMicros = endMicros;
    if (!Number.isFinite(endMicros) || endMicros < startMicros) endMicros = startMicros;
    nodes.set(span.span_id, {
      span,
      startMicros,
      endMicros,
      children: [],
      remoteParent: false,
      parent: null,
      depth: 0,
      errorsBelow: 0,
    });
  }
  let startMicros = Number.POSITIVE_INFINITY;
  let endMicros = Number.NEGATIVE_INFINITY;
  for (const node of nodes.values()) {
    if (!Number.isFinite(node.startMicros)) continue;
    startMicros = Math.min(startMicros, node.startMicros);
    endMicros = Math.max(endMicros, node.endMicros);
  }
  if (!Number.isFinite(startMicros)) startMicros = endMicros = 0;
  // Spans whose times do not parse sit at the start of the axis, zero long.
  for (const node of nodes.values()) {
    if (!Number.isFinite(node.startMicros)) {
      node.startMicros = startMicros;
      node.endMicros = startMicros;
    }
  }

  const candidates: string[] = [];
  for (const [id, node] of nodes) {
    const parentId = node.span.parent_span_id;
    if (parentId !== null && parentId !== id && nodes.has(parentId)) {
      nodes.get(parentId)!.children.push(id);
    } else {
      node.remoteParent = parentId !== null && parentId !== id;
      candidates.push(id);
    }
  }
  const compare = byStart(nodes);
  for (const node of nodes.values()) node.children.sort(compare);
  candidates.sort(compare);

  // Depth first from each root, without recursion; a span seen twice (a cycle) is not followed again.
  const order: string[] = [];
  const roots: string[] = [];
  const placed = new Set<string>();
  const walk = (rootId: string) => {
    roots.push(rootId);
    const stack: [string, number, string | null][] = [[rootId, 0, null]];
    while (stack.length > 0) {
      const [id, depth, parent] = stack.pop()!;
      if (placed.has(id)) continue;
      placed.add(id);
      const node = nodes.get(id)!;
      node.depth = depth;
      node.parent = parent;
      order.push(id);
      node.children = node.children.filter((c) => !placed.has(c));
      for (let i = node.children.length - 1; i >= 0; i--) {
        stack.push([node.children[i]!, depth + 1, id]);
      }
    }
  };
  for (const id of candidates) walk(id);
  // Whatever no root reached is a cycle: break it at its earliest span.
  if (placed.size < nodes.size) {
    const rest = [...nodes.keys()].filter((id) => !placed.has(id)).sort(compare);
    for (const id of rest) if (!placed.has(id)) walk(id);
  }
  // A child that was reached through another path first is not listed twice.
  for (const id of order) {
    const node = nodes.get(id)!;
    node.children = node.children.filter((c) => nodes.get(c)!.parent === id);
  }
  // Errors below each span, children before parents (reverse depth-first order).
  for (let i = order.length - 1; i >= 0; i--) {
    const node = nodes.get(order[i]!)!;
    if (node.parent === null) continue;
    const parent = nodes.get(node.parent)!;
    parent.errorsBelow += node.errorsBelow + (node.span.status === 'error' ? 1 : 0);
  }
  return { nodes, roots, order, startMicros, endMicros };
}

export interface WaterfallRow {
  readonly spanId: string;
  readonly depth: number;
  readonly hasChildren: boolean;
  readonly collapsed: boolean;
  /** Where the bar starts and how long it is, as fractions of the axis (0 to 1). */
  readonly offset: number;
  readonly width: number;
  readonly error: boolean;
  /** Spans in error hidden under this collapsed row. */
  readonly hiddenErrors: number;
}

/** The rows shown with the `collapsed` spans' descendants hidden, in tree order. */
export function layoutRows(tree: WaterfallTree, collapsed: ReadonlySet<string>): WaterfallRow[] {
  const total = tree.endMicros - tree.startMicros;
  const rows: WaterfallRow[] = [];
  let skipBelowDepth = Number.POSITIVE_INFINITY;
  for (const id of tree.order) {
    const node = tree.nodes.get(id)!;
    if (node.depth > skipBelowDepth) continue;
    skipBelowDepth = Number.POSITIVE_INFINITY;
    const isCollapsed = node.children.length > 0 && collapsed.has(id);
    if (isCollapsed) skipBelowDepth = node.depth;
    const offset = total > 0 ? (node.startMicros - tree.startMicros) / total : 0;
    const width = total > 0 ? (node.endMicros - node.startMicros) / total : 0;
    rows.push({
      spanId: id,
      depth: node.depth,
      hasChildren: node.children.length > 0,
      collapsed: isCollapsed,
      offset: clamp01(offset),
      width: Math.min(clamp01(width), 1 - clamp01(offset)),
      error: node.span.status === 'error',
      hiddenErrors: isCollapsed ? node.errorsBelow : 0,
    });
  }
  return rows;
}

const clamp01 = (n: number) => Math.min(Math.max(n, 0), 1);

/** The spans above `spanId` in the tree, nearest first (to expand them when it is selected). */
export function ancestorsOf(tree: WaterfallTree, spanId: string): string[] {
  const out: string[] = [];
  let current = tree.nodes.get(spanId)?.parent ?? null;
  while (current !== null) {
    out.push(current);
    current = tree.nodes.get(current)?.parent ?? null;
  }
  return out;
}

export interface AxisTick {
  /** Position on the axis, 0 to 1. */
  readonly offset: number;
  /** Milliseconds since the axis start. */
  readonly ms: number;
}

/**
 * Ticks at round steps (1, 2 or 5 times a power of ten milliseconds), about
 * `count` of them, from 0 to the axis end.
 */
export function axisTicks(totalMicros: number, count = 5): AxisTick[] {
  const totalMs = totalMicros / 1000;
  if (!(totalMs > 0)) return [{ offset: 0, ms: 0 }];
  const raw = totalMs / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: AxisTick[] = [];
  for (let ms = 0; ms <= totalMs + step * 1e-9; ms += step) {
    ticks.push({ offset: Math.min(1, ms / totalMs), ms: Number(ms.toPrecision(12)) });
  }
  return ticks;
}
