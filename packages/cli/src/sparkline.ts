/** A small inline chart of a series: one block character per time cell. */

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/**
 * `width` cells over [start, end] (unix seconds), each the sum of the points
 * in it, scaled between the smallest and largest cell; a cell without points
 * is a space, so gaps show as gaps.
 */
export function sparkline(
  points: readonly { timestamp: number; value: number }[],
  start: number,
  end: number,
  width = 24,
): string {
  const span = Math.max(1, end - start + 1);
  const cells: (number | null)[] = new Array(width).fill(null);
  for (const p of points) {
    if (!Number.isFinite(p.value)) continue;
    const i = Math.min(width - 1, Math.max(0, Math.floor(((p.timestamp - start) / span) * width)));
    cells[i] = (cells[i] ?? 0) + p.value;
  }
  const present = cells.filter((c): c is number => c !== null);
  if (present.length === 0) return ' '.repeat(width);
  const min = Math.min(...present);
  const max = Math.max(...present);
  return cells
    .map((c) => {
      if (c === null) return ' ';
      if (max === min) return BLOCKS[BLOCKS.length - 1];
      return BLOCKS[Math.round(((c - min) / (max - min)) * (BLOCKS.length - 1))];
    })
    .join('');
}
