import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
const ctx = await chromium.launchPersistentContext(mkdtempSync('/tmp/vt/prof-'), {
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  viewport: { width: 1280, height: 720 }, colorScheme: process.argv[4] ?? 'light',
});
const page = ctx.pages()[0] ?? await ctx.newPage();
page.on('console', (m) => console.log('console', m.type(), m.text()));
await page.goto(process.argv[2]);
await page.waitForTimeout(1200);
const spans = await page.$$('.wf-row');
if (spans[1]) await spans[1].click();
await page.waitForTimeout(500);
await page.screenshot({ path: process.argv[3] });
await ctx.close();
