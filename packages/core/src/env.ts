/** Environment variables, as `process.env` holds them (or a replacement, in tests or from a config loader). */
export type Env = Readonly<Record<string, string | undefined>>;
