/** What the README says, checked against the package. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createPostgresSink, PostgresSinkOptionsSchema } from '@telemetry/sink-postgres';
import { describe, expect, it } from 'vitest';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');

describe('README', () => {
  it('How it fails: the sample error is what those options give', () => {
    let message = '';
    try {
      createPostgresSink({ connectionString: 'mysql://u:secret@h/db', ttlSeconds: 0 });
    } catch (error) {
      message = (error as Error).message;
    }
    const sample = message
      .split('\n')
      .map((line) => `  ${line}`)
      .join('\n');
    expect(readme).toContain(`  \`\`\`\n${sample}\n  \`\`\``);
  });

  it('Options: the table lists every option of the schema', () => {
    const section = readme.slice(readme.indexOf('## Options'), readme.indexOf('## Many writers'));
    const listed = [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]).sort();
    expect(listed).toEqual(Object.keys(PostgresSinkOptionsSchema.shape).sort());
  });
});
