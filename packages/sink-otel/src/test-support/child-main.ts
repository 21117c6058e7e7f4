// A script with an async main and no top-level await: Node exits when nothing is left to do.
import { after, config, scenario } from './child-scenario.ts';

async function main(): Promise<void> {
  await scenario(config());
  after();
}

void main();
