/** The options both store sinks take, through the package's entry point. */
import { DEFAULT_TTL_SECONDS, z } from '@telemetry/core/sink';
import { describe, expect, it } from 'vitest';
import { serviceNameFrom, storeSinkOptionFields, wholeNumberOption } from './index.ts';

const schema = z.strictObject({ ...storeSinkOptionFields });

describe('storeSinkOptionFields', () => {
  it('fills in every default', () => {
    const parsed = schema.parse({});
    expect(parsed).toEqual({
      ttlSeconds: DEFAULT_TTL_SECONDS,
      serviceName: serviceNameFrom(process.env),
      retentionIntervalMs: 60_000,
      purgeOnOpen: true,
    });
    expect(Object.keys(parsed)).not.toContain('maxSpans');
    expect(Object.keys(parsed)).not.toContain('datasetWriter');
  });

  it('refuses bad values with one message each', () => {
    const result = schema.safeParse({
      ttlSeconds: 0,
      maxSpans: 1.5,
      retentionIntervalMs: -1,
      purgeOnOpen: 'yes',
      serviceName: 3,
      datasetWriter: { appendRows: 'no' },
    });
    expect(result.success).toBe(false);
    expect(
      Object.fromEntries(result.error!.issues.map((i) => [i.path.join('.'), i.message])),
    ).toEqual({
      ttlSeconds: 'expected a whole number >= 1',
      maxSpans: 'expected a whole number >= 1',
      retentionIntervalMs: 'expected a whole number >= 0',
      purgeOnOpen: 'expected true or false',
      serviceName: 'expected a service name',
      datasetWriter: 'expected an object with appendRows(datasetId, rows)',
    });
  });

  it('names the service from OTEL_SERVICE_NAME, else unknown_service', () => {
    expect(serviceNameFrom({ OTEL_SERVICE_NAME: 'api' })).toBe('api');
    expect(serviceNameFrom({ OTEL_SERVICE_NAME: '' })).toBe('unknown_service');
    expect(serviceNameFrom({})).toBe('unknown_service');
    expect(wholeNumberOption(0).safeParse(Number.NaN).success).toBe(false);
  });
});
