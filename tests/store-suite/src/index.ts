export { dataset, FOREVER, HOUR, log, MS, metric, SECOND, sid, span, T0, tid } from './fixtures.ts';
export type { PostgresServer, StartOptions } from './postgres-server.ts';
export { postgresBinDir, startPostgres } from './postgres-server.ts';
export type { OpenedStore, StoreSubject, SuiteStore } from './store-suite.ts';
export { defineStoreSuite, HOSTILE_STRINGS } from './store-suite.ts';
