import { describe, expect, it } from 'vitest';
import { cell, Progress, painter, renderProgress, table, wantsColor } from './output.ts';
import { defaultDbPath } from './paths.ts';
import { sparkline } from './sparkline.ts';

describe('output', () => {
  it('colours only on a terminal, never with NO_COLOR or --no-color, FORCE_COLOR aside', () => {
    const tty = { write: () => true, isTTY: true };
    const pipe = { write: () => true };
    expect(wantsColor(tty, {})).toBe(true);
    expect(wantsColor(pipe, {})).toBe(false);
    expect(wantsColor(tty, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColor(tty, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(false);
    expect(wantsColor(tty, {}, false)).toBe(false);
    expect(wantsColor(tty, { TERM: 'dumb' })).toBe(false);
    expect(wantsColor(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(wantsColor(tty, { FORCE_COLOR: '0' })).toBe(false);
  });

  it('tables: aligned columns without borders; hostile cell text cannot move the cursor', () => {
    const text = table(
      ['NAME', 'N'],
      [
        [cell('a\nb\x1b[2Jc'), '1'],
        [cell('x'.repeat(100), 10), '22'],
      ],
      painter(false),
      { align: ['left', 'right'] },
    );
    expect(text).toBe('NAME             N\na\\nb\\u001b[2Jc   1\nxxxxxxxxx…      22\n');
    expect(cell(null)).toBe('-');
    expect(cell({ a: [1] })).toBe('{"a":[1]}');
  });

  it('a progress bar with a total, a count without; redrawn on a terminal only, then cleared', () => {
    expect(renderProgress(250, 1000, 'traces')).toBe(
      '[######------------------]  25%  250/1,000 traces',
    );
    expect(renderProgress(1234, undefined, 'rows')).toBe('1,234 rows');
    const written: string[] = [];
    const bar = new Progress({ write: (t: string) => written.push(t) }, true, 'traces');
    bar.update(1, 2, true);
    bar.end();
    expect(written).toEqual(['\r\x1b[K[############------------]  50%  1/2 traces', '\r\x1b[K']);
    const off: string[] = [];
    const none = new Progress({ write: (t: string) => off.push(t) }, false, 'traces');
    none.update(1, 2, true);
    none.end();
    expect(off).toEqual([]);
  });

  it('a sparkline: one cell per slice of the window, sums scaled, gaps blank', () => {
    const points = [
      { timestamp: 0, value: 1 },
      { timestamp: 1, value: 1 },
      { timestamp: 30, value: 8 },
      { timestamp: 59, value: 4 },
    ];
    expect(sparkline(points, 0, 59, 6)).toBe('▁  █ ▃');
    expect(sparkline([], 0, 59, 4)).toBe('    ');
    expect(sparkline([{ timestamp: 2, value: 3 }], 0, 9, 2)).toBe('█ ');
  });

  it('the default store: $TELEMETRY_DB, else the data directory of the platform', () => {
    expect(defaultDbPath({ TELEMETRY_DB: '/x/t.db' }, 'linux', '/home/u')).toBe('/x/t.db');
    expect(defaultDbPath({}, 'linux', '/home/u')).toBe(
      '/home/u/.local/share/telemetry/telemetry.db',
    );
    expect(defaultDbPath({ XDG_DATA_HOME: '/data' }, 'linux', '/home/u')).toBe(
      '/data/telemetry/telemetry.db',
    );
    expect(defaultDbPath({ XDG_DATA_HOME: 'relative' }, 'linux', '/home/u')).toBe(
      '/home/u/.local/share/telemetry/telemetry.db',
    );
    expect(defaultDbPath({}, 'darwin', '/Users/u')).toBe(
      '/Users/u/Library/Application Support/telemetry/telemetry.db',
    );
    expect(
      defaultDbPath({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32', 'C:\\Users\\u'),
    ).toBe('C:\\Users\\u\\AppData\\Local\\telemetry\\telemetry.db');
  });
});
