// A script with top-level await: Node exits with code 13 if this await never settles.
import { after, config, scenario } from './child-scenario.ts';

await scenario(config());
after();
