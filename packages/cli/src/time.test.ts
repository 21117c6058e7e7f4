import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatTime, parseDuration, parseTime } from './time.ts';

describe('durations and times as typed', () => {
  it('reads durations with units, compound ones, and plain milliseconds where allowed', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1.5d')).toBe(129_600_000);
    expect(parseDuration('2w')).toBe(1_209_600_000);
    expect(parseDuration('250', { bare: 'ms' })).toBe(250);
    for (const bad of ['', '5', '5 minutes', '1x', 'h', '-1h', '1h-', '1e3s', 'NaNs']) {
      expect(() => parseDuration(bad), bad).toThrow(/^Expected a number and a unit/);
    }
  });

  it('reads a time as a duration ago, now, or ISO-8601 (UTC without a zone)', () => {
    const now = Date.UTC(2026, 2, 1, 12, 0, 0);
    expect(parseTime('1h', now)).toBe(now - 3_600_000);
    expect(parseTime('now', now)).toBe(now);
    expect(parseTime('2026-03-01', now)).toBe(Date.UTC(2026, 2, 1));
    expect(parseTime('2026-03-01T11:00:00Z', now)).toBe(Date.UTC(2026, 2, 1, 11));
    expect(parseTime('2026-03-01 11:00', now)).toBe(Date.UTC(2026, 2, 1, 11));
    expect(parseTime('2026-03-01T11:00:00+02:00', now)).toBe(Date.UTC(2026, 2, 1, 9));
    for (const bad of ['yesterday', '2026-13-01', '2026-02-30T25:00', '']) {
      expect(() => parseTime(bad, now), bad).toThrow(/^Expected a time/);
    }
  });

  it('formats durations, times and sizes for tables', () => {
    expect([0.04, 218.094, 1520, 123_000, 18_420_000].map(formatDuration)).toEqual([
      '0.04ms',
      '218.09ms',
      '1.52s',
      '2m03s',
      '5h07m',
    ]);
    expect(formatTime('2026-12-01T20:55:08.634414Z')).toBe('2026-12-01 20:55:08.634');
    expect(formatTime('2026-12-01T20:55:08Z')).toBe('2026-12-01 20:55:08.000');
    expect([512, 106_496, 3_500_000_000].map(formatBytes)).toEqual(['512 B', '106 kB', '3.50 GB']);
  });
});
