import { QueryMetricsParamsSchema, traceSearchFromQuery } from '@telemetry/core';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_METRICS,
  EMPTY_SEARCH,
  formatRoute,
  metricsQuery,
  parseLabelMatcher,
  parseRoute,
  type Route,
  traceSearchApiQuery,
} from './route-state.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const NOW = Date.UTC(2026, 2, 1, 12, 0, 0);

describe('parseRoute / formatRoute', () => {
  const routes: Route[] = [
    { view: 'traces', search: EMPTY_SEARCH },
    {
      view: 'traces',
      search: {
        ...EMPTY_SEARCH,
        since: '1h',
        service: 'gateway & co',
        name: 'chat turn/#1?',
        status: 'error',
        min_duration_ms: '2000',
        max_duration_ms: '9000.5',
        attr: [
          'model=llama',
          'http.status_code>499',
          'note=a=b&c#d',
          '{"key":"a=b","op":"eq","value":1}',
        ],
        limit: '200',
      },
    },
    {
      view: 'traces',
      search: { ...EMPTY_SEARCH, start: '2026-03-01T11:00:00.000Z', end: '2026-03-01T12:00:00Z' },
    },
    { view: 'trace', traceId: TRACE, spanId: null },
    { view: 'trace', traceId: TRACE, spanId: SPAN },
    { view: 'metrics', metrics: EMPTY_METRICS },
    {
      view: 'metrics',
      metrics: {
        metric: 'total_tokens',
        type: 'instant',
        granularity: '5m',
        since: '7d',
        start: null,
        end: null,
        match: ['model_id=~llama.*', 'provider_id!=ollama'],
      },
    },
  ];

  it.each(routes.map((r) => [formatRoute(r), r] as const))(
    '%s reads back as it was',
    (hash, route) => {
      expect(parseRoute(hash)).toEqual(route);
      expect(formatRoute(parseRoute(hash))).toBe(hash);
    },
  );

  it('the empty hash and #/ are the trace list', () => {
    expect(parseRoute('')).toEqual({ view: 'traces', search: EMPTY_SEARCH });
    expect(parseRoute('#/')).toEqual({ view: 'traces', search: EMPTY_SEARCH });
    expect(parseRoute('#')).toEqual({ view: 'traces', search: EMPTY_SEARCH });
  });

  it('trace and span ids are read case-insensitively and written lowercase', () => {
    expect(parseRoute(`#/trace/${TRACE.toUpperCase()}?span=${SPAN.toUpperCase()}`)).toEqual({
      view: 'trace',
      traceId: TRACE,
      spanId: SPAN,
    });
  });

  it('a bad trace id is a not-found page naming it; a bad span id selects nothing', () => {
    expect(parseRoute('#/trace/xyz')).toEqual({
      view: 'not-found',
      reason: "'xyz' is not a trace id (32 hex digits).",
    });
    expect(parseRoute(`#/trace/${TRACE}?span=<script>`)).toEqual({
      view: 'trace',
      traceId: TRACE,
      spanId: null,
    });
    expect(parseRoute('#/nope/1')).toMatchObject({ view: 'not-found' });
    expect(parseRoute('#/%E0%A4%A')).toEqual({
      view: 'not-found',
      reason: 'The link is not a valid address.',
    });
  });

  it('drops unknown parameters, empty values and an unknown status', () => {
    expect(parseRoute('#/traces?status=maybe&service=&bogus=1&attr=&attr=a%3D1')).toEqual({
      view: 'traces',
      search: { ...EMPTY_SEARCH, attr: ['a=1'] },
    });
    expect(parseRoute('#/metrics?type=sideways')).toEqual({
      view: 'metrics',
      metrics: EMPTY_METRICS,
    });
  });
});

describe('traceSearchApiQuery', () => {
  it('is a query the server reads back to the same search', () => {
    const search = {
      ...EMPTY_SEARCH,
      service: 'gateway',
      name: 'chat_turn',
      status: 'error' as const,
      min_duration_ms: '2000',
      attr: ['model=llama', 'http.status_code>499', 'flag=true'],
      limit: '20',
    };
    expect(traceSearchFromQuery(traceSearchApiQuery(search, NOW))).toEqual({
      service: 'gateway',
      name: 'chat_turn',
      status: 'error',
      min_duration_ms: 2000,
      attribute_filters: [
        { key: 'model', op: 'eq', value: 'llama' },
        { key: 'http.status_code', op: 'gt', value: 499 },
        { key: 'flag', op: 'eq', value: true },
      ],
      limit: 20,
    });
  });

  it('turns a lookback into start at the time of the query; an explicit start wins', () => {
    const query = traceSearchApiQuery({ ...EMPTY_SEARCH, since: '1h' }, NOW);
    expect(query.toString()).toBe('start=2026-03-01T11%3A00%3A00.000000Z');
    expect(traceSearchFromQuery(query)).toEqual({ start: '2026-03-01T11:00:00.000000Z' });
    const both = traceSearchApiQuery(
      { ...EMPTY_SEARCH, since: '1h', start: '2026-01-01T00:00:00Z' },
      NOW,
    );
    expect(both.getAll('start')).toEqual(['2026-01-01T00:00:00Z']);
  });

  it('sends what it cannot read as it is, so that the server names the bad parameter', () => {
    const query = traceSearchApiQuery(
      { ...EMPTY_SEARCH, since: 'forever', status: null, min_duration_ms: 'soon' },
      NOW,
    );
    expect(() => traceSearchFromQuery(query)).toThrowError(/start[\s\S]*min_duration_ms/);
  });
});

describe('parseLabelMatcher', () => {
  it.each([
    ['model_id=llama', { name: 'model_id', operator: '=', value: 'llama' }],
    ['model_id!=llama', { name: 'model_id', operator: '!=', value: 'llama' }],
    ['model_id=~llama.*', { name: 'model_id', operator: '=~', value: 'llama.*' }],
    ['model_id!~a|b', { name: 'model_id', operator: '!~', value: 'a|b' }],
    ['le=+Inf', { name: 'le', operator: '=', value: '+Inf' }],
    ['x=', { name: 'x', operator: '=', value: '' }],
    ['expr=a=b', { name: 'expr', operator: '=', value: 'a=b' }],
    ['service.name = api', { name: 'service.name', operator: '=', value: ' api' }],
  ])('%s', (text, matcher) => {
    expect(parseLabelMatcher(text)).toEqual({ matcher });
  });

  it('names what is wrong', () => {
    expect(parseLabelMatcher('=x').error).toBe("'=x': the label name is empty");
    expect(parseLabelMatcher('model').error).toMatch(/expected name=value/);
  });
});

describe('metricsQuery', () => {
  it('builds a queryMetrics body that the API schema accepts', () => {
    const built = metricsQuery(
      {
        ...EMPTY_METRICS,
        metric: 'total_tokens',
        granularity: '1m',
        since: '1h',
        match: ['model_id=~llama.*'],
      },
      NOW,
    );
    expect(built.query).toEqual({
      metric: 'total_tokens',
      body: {
        query_type: 'range',
        start_time: NOW / 1000 - 3600,
        end_time: NOW / 1000,
        granularity: '1m',
        label_matchers: [{ name: 'model_id', operator: '=~', value: 'llama.*' }],
      },
    });
    expect(QueryMetricsParamsSchema.safeParse(built.query!.body).success).toBe(true);
  });

  it('defaults to the last 24 hours and raw points; takes explicit times', () => {
    expect(metricsQuery({ ...EMPTY_METRICS, metric: 'm' }, NOW).query!.body).toEqual({
      query_type: 'range',
      start_time: NOW / 1000 - 86_400,
      end_time: NOW / 1000,
      label_matchers: [],
    });
    const explicit = metricsQuery(
      {
        ...EMPTY_METRICS,
        metric: 'm',
        start: '2026-03-01T10:00:00Z',
        end: '2026-03-01T10:30:00.999999Z',
      },
      NOW,
    );
    expect(explicit.query!.body).toMatchObject({
      start_time: Date.UTC(2026, 2, 1, 10) / 1000,
      end_time: Date.UTC(2026, 2, 1, 10, 30) / 1000,
    });
  });

  it('lists every problem at once, each naming its field', () => {
    expect(
      metricsQuery(
        {
          ...EMPTY_METRICS,
          granularity: '5 minutes',
          start: '2026-03-02T00:00:00Z',
          end: 'yesterday',
          match: ['ok=1', 'broken'],
        },
        NOW,
      ).errors,
    ).toEqual([
      'metric: pick a metric',
      'end: expected an ISO-8601 date-time such as 2026-03-01T11:00:00Z',
      'granularity: expected a bucket size such as 30s, 5m, 1h or 1d',
      "match[1]: 'broken': expected name=value, name!=value, name=~regex or name!~regex",
    ]);
    expect(
      metricsQuery(
        {
          ...EMPTY_METRICS,
          metric: 'm',
          start: '2026-03-02T00:00:00Z',
          end: '2026-03-01T00:00:00Z',
        },
        NOW,
      ).errors,
    ).toEqual(['start: expected at most end']);
    expect(metricsQuery({ ...EMPTY_METRICS, metric: 'm', since: 'ages' }, NOW).errors).toEqual([
      'since: expected a lookback such as 1h or 7d',
    ]);
  });
});
