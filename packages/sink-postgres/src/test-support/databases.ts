import pg from 'pg';

/** Runs one statement on the server as its superuser (creating schemas and databases). */
export async function adminQuery(url: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

/** The URL with `-c name=value` session settings (search_path, TimeZone) in its `options`. */
export function withSessionOptions(url: string, settings: Record<string, string>): string {
  const u = new URL(url);
  u.searchParams.set(
    'options',
    Object.entries(settings)
      .map(([k, v]) => `-c ${k}=${v}`)
      .join(' '),
  );
  return u.toString();
}

/** A new, empty database of the server; its URL. */
export async function createDatabase(url: string, name: string): Promise<string> {
  await adminQuery(url, `create database ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}
