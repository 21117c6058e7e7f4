import { describe, expect, it } from 'vitest';
import {
  formatDateTime,
  formatDuration,
  isoToMicros,
  lookbackSeconds,
  microsToIso,
  parseDuration,
} from './time.ts';

describe('isoToMicros / microsToIso', () => {
  it('keep microseconds, which Date.parse drops', () => {
    const iso = '2026-03-01T12:00:00.123456Z';
    expect(isoToMicros(iso)).toBe(Date.UTC(2026, 2, 1, 12) * 1000 + 123_456);
    expect(microsToIso(isoToMicros(iso))).toBe(iso);
    expect(isoToMicros('2026-03-01T12:00:00Z')).toBe(Date.UTC(2026, 2, 1, 12) * 1000);
    expect(isoToMicros('2026-03-01T12:00:00.1Z')).toBe(Date.UTC(2026, 2, 1, 12) * 1000 + 100_000);
    // Nanosecond digits are cut to microseconds; an offset is applied; no zone is UTC.
    expect(isoToMicros('2026-03-01T12:00:00.123456789Z') % 1_000_000).toBe(123_456);
    expect(isoToMicros('2026-03-01T13:00:00+01:00')).toBe(Date.UTC(2026, 2, 1, 12) * 1000);
    expect(isoToMicros('2026-03-01T12:00:00')).toBe(Date.UTC(2026, 2, 1, 12) * 1000);
  });

  it('anything else is NaN', () => {
    for (const bad of ['', 'yesterday', '2026-13-45T99:99:99Z', '2026-03-01', '1e300']) {
      expect(isoToMicros(bad)).toBeNaN();
    }
  });
});

describe('formatDuration', () => {
  it.each([
    [0.04, '40µs'],
    [0, '0µs'],
    [1.25, '1.25ms'],
    [312.04, '312ms'],
    [127.3, '127.3ms'],
    [2400, '2.4s'],
    [12_345, '12.3s'],
    [192_000, '3m 12s'],
    [3_900_000, '1h 5m'],
    [-5, '-5ms'],
    [Number.NaN, '–'],
  ])('%s ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['2s', 2000],
    ['1.5m', 90_000],
    ['1h', 3_600_000],
    ['40us', 0.04],
    ['40µs', 0.04],
    [' 500 ', 500],
    ['.5s', 500],
    ['2S', 2000],
  ])('%s is %s ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'fast', '-1s', '2 seconds', '1e3', '1d'])('%s is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('lookbackSeconds', () => {
  it('reads <n>s|m|h|d', () => {
    expect(lookbackSeconds('90m')).toBe(5400);
    expect(lookbackSeconds('7d')).toBe(604_800);
    expect(lookbackSeconds('0h')).toBeUndefined();
    expect(lookbackSeconds('1w')).toBeUndefined();
    expect(lookbackSeconds('99999999d')).toBeUndefined();
  });
});

describe('formatDateTime', () => {
  it('shows a time in the given offset, to the millisecond', () => {
    const micros = isoToMicros('2026-03-01T23:30:00.123456Z');
    expect(formatDateTime(micros, 0)).toBe('2026-03-01 23:30:00.123');
    expect(formatDateTime(micros, 60)).toBe('2026-03-02 00:30:00.123');
    expect(formatDateTime(micros, -330)).toBe('2026-03-01 18:00:00.123');
  });
});
