export type { PostgresServer, StartOptions } from './postgres-server.ts';
export { postgresBinDir, startPostgres } from './postgres-server.ts';
