import {
  formatAttributeFilter,
  isTraceSearchStore,
  isTraceStoreAdmin,
  PruneParamsSchema,
  parseAttributeFilter,
  parseIsoMicros,
  parseSearchParams,
  SEARCH_LIMITS,
  SuggestParamsSchema,
  TelemetryValidationError,
  TraceSearchParamsSchema,
  traceSearchFromQuery,
  traceSearchToQuery,
} from '@telemetry/core';
import { describe, expect, it } from 'vitest';

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TelemetryValidationError);
    return (error as TelemetryValidationError).issues;
  }
  throw new Error('expected a TelemetryValidationError');
}

describe('trace search parameters', () => {
  const parse = (value: unknown) =>
    parseSearchParams(TraceSearchParamsSchema, value, 'searchTraces parameters');

  it('accepts every filter and turns times into epoch microseconds', () => {
    const p = parse({
      start: '2026-01-01T00:00:00Z',
      end: new Date(Date.UTC(2026, 0, 2)),
      service: 'api',
      name: 'POST /chat',
      status: 'error',
      min_duration_ms: 2000,
      max_duration_ms: 5000.5,
      attribute_filters: [{ key: 'model', op: 'eq', value: 'llama' }],
      limit: 10,
    });
    expect(p.start).toBe(parseIsoMicros('2026-01-01T00:00:00Z'));
    expect(p.end).toBe(Date.UTC(2026, 0, 2) * 1000);
    expect(p.status).toBe('error');
  });

  it('names every bad field at once, unknown ones included', () => {
    expect(
      issuesOf(() =>
        parse({
          status: 'failed',
          start: '2026-02-01T00:00:00Z',
          end: '2026-01-01T00:00:00Z',
          limit: 1_000_000,
          min_duration: 5,
          min_duration_ms: 10,
          max_duration_ms: 1,
          attribute_filters: [{ key: 'n', op: 'gt', value: null }],
        }),
      ).map((i) => i.path),
    ).toEqual(
      expect.arrayContaining([
        'status',
        'limit',
        'min_duration',
        'start',
        'min_duration_ms',
        'attribute_filters[0].value',
      ]),
    );
    expect(issuesOf(() => parse('x'))).toEqual([{ path: 'params', message: expect.any(String) }]);
    expect(issuesOf(() => parse({ cursor: 'a', newer_than: 'b' })).map((i) => i.path)).toEqual([
      'cursor',
    ]);
  });

  it('checks the length of a list before reading its entries', () => {
    const many = Array.from({ length: 100_000 }, () => ({ key: 1 }));
    expect(issuesOf(() => parse({ attribute_filters: many }))).toEqual([
      {
        path: 'attribute_filters',
        message: `expected at most ${SEARCH_LIMITS.attributeFilters} entries`,
      },
    ]);
  });

  it('bounds text and cursors', () => {
    expect(
      issuesOf(() => parse({ service: 'x'.repeat(5000), cursor: 'y'.repeat(5000) })).map(
        (i) => i.path,
      ),
    ).toEqual(['service', 'cursor']);
  });

  it('suggestions per service only for span names; prune needs something to do', () => {
    expect(() =>
      parseSearchParams(SuggestParamsSchema, { field: 'span_name', service: 'a' }, 'x'),
    ).not.toThrow();
    expect(
      issuesOf(() =>
        parseSearchParams(SuggestParamsSchema, { field: 'metric_name', service: 'a' }, 'x'),
      ).map((i) => i.path),
    ).toEqual(['service']);
    expect(
      issuesOf(() => parseSearchParams(SuggestParamsSchema, { field: 'nope' }, 'x')).map(
        (i) => i.path,
      ),
    ).toEqual(['field']);
    expect(issuesOf(() => parseSearchParams(PruneParamsSchema, {}, 'x'))[0]!.path).toBe(
      'older_than',
    );
  });
});

describe('attribute conditions as text', () => {
  it('reads the short forms, typing values as JSON would', () => {
    expect(parseAttributeFilter('model=llama').condition).toEqual({
      key: 'model',
      op: 'eq',
      value: 'llama',
    });
    expect(parseAttributeFilter('http.status!=200').condition).toEqual({
      key: 'http.status',
      op: 'ne',
      value: 200,
    });
    expect(parseAttributeFilter('tokens>-1.5e3').condition?.value).toBe(-1500);
    expect(parseAttributeFilter('ok<true').condition).toEqual({ key: 'ok', op: 'lt', value: true });
    expect(parseAttributeFilter('code="200"').condition?.value).toBe('200');
    expect(parseAttributeFilter('tags=["a","b"]').condition?.value).toEqual(['a', 'b']);
    expect(parseAttributeFilter('x=null').condition?.value).toBeNull();
    expect(parseAttributeFilter('url=a=b').condition).toEqual({
      key: 'url',
      op: 'eq',
      value: 'a=b',
    });
    expect(parseAttributeFilter('q=').condition?.value).toBe('');
    expect(parseAttributeFilter('=x').error).toMatch(/key is empty/);
    expect(parseAttributeFilter('nooperator').error).toMatch(/key=value/);
    expect(parseAttributeFilter('{"key":"a=b","op":"eq","value":1}').condition).toEqual({
      key: 'a=b',
      op: 'eq',
      value: 1,
    });
    expect(parseAttributeFilter('{broken').error).toMatch(/JSON object/);
  });

  it('writes conditions so that they read back the same', () => {
    for (const c of [
      { key: 'model', op: 'eq', value: 'llama' },
      { key: 'n', op: 'gt', value: 10 },
      { key: 'code', op: 'eq', value: '200' },
      { key: 'flag', op: 'ne', value: 'true' },
      { key: 'a=b', op: 'eq', value: 'x' },
      { key: 'x', op: 'lt', value: '"quoted' },
      { key: "'; DROP TABLE spans; --", op: 'eq', value: '1 OR 1=1' },
      { key: 'tags', op: 'eq', value: ['a', 1, null] },
    ] as const) {
      expect(parseAttributeFilter(formatAttributeFilter(c)).condition).toEqual(c);
    }
    expect(formatAttributeFilter({ key: 'code', op: 'eq', value: '200' })).toBe('code="200"');
  });
});

describe('trace search as a URL', () => {
  it('round-trips through the query string', () => {
    const params = {
      service: 'api',
      status: 'error' as const,
      min_duration_ms: 2000,
      start: '2026-01-01T00:00:00.000001Z',
      attribute_filters: [
        { key: 'model', op: 'eq' as const, value: 'llama' },
        { key: 'tokens', op: 'gt' as const, value: 10 },
      ],
      limit: 20,
    };
    const query = traceSearchToQuery(params);
    expect(query.toString()).toBe(
      'service=api&status=error&min_duration_ms=2000&start=2026-01-01T00%3A00%3A00.000001Z&attr=model%3Dllama&attr=tokens%3E10&limit=20',
    );
    expect(traceSearchFromQuery(new URLSearchParams(query.toString()))).toEqual(params);
  });

  it('names bad query parameters by their query names', () => {
    const issues = issuesOf(() =>
      traceSearchFromQuery(
        new URLSearchParams(
          'status=oops&limit=ten&limit=2&attr=x&attr=n%3Enull&bogus=1&start=1767225600000000&end=2020-01-01T00:00:00Z',
        ),
      ),
    );
    expect(issues.map((i) => i.path).sort()).toEqual(
      ['attr[0]', 'attr[1].value', 'bogus', 'limit', 'limit', 'start', 'status'].sort(),
    );
  });

  it('takes digits as epoch microseconds', () => {
    expect(traceSearchFromQuery(new URLSearchParams('start=1767225600000000')).start).toBe(
      1767225600000000,
    );
  });
});

describe('store guards', () => {
  it('recognises the search and admin method sets', () => {
    const fn = async () => ({});
    expect(
      isTraceSearchStore({
        searchTraces: fn,
        getTraceDetail: fn,
        getSpanEvents: fn,
        suggest: fn,
        tailSpans: fn,
      }),
    ).toBe(true);
    expect(isTraceSearchStore({ searchTraces: fn })).toBe(false);
    expect(isTraceSearchStore(null)).toBe(false);
    expect(isTraceStoreAdmin({ storeStats: fn, prune: fn })).toBe(true);
    expect(isTraceStoreAdmin({ storeStats: fn })).toBe(false);
  });
});
