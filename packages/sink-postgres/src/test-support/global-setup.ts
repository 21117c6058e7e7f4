/**
 * Starts one throwaway PostgreSQL server for the test run (or uses the one
 * TELEMETRY_TEST_POSTGRES_URL names) and hands its URL to the tests; each
 * test file works in databases or schemas of its own.
 */
import { type PostgresServer, startPostgres } from '@telemetry/store-suite';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

let server: PostgresServer | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.TELEMETRY_TEST_POSTGRES_URL;
  if (given) {
    project.provide('postgresUrl', given);
    return async () => {};
  }
  server = await startPostgres();
  project.provide('postgresUrl', server.url);
  return async () => {
    await server?.destroy();
  };
}
