// browser.mjs -- headless Debian chromium through playwright-core, with the flags that stop its background connections and a fresh profile directory.

import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';

export const CHROMIUM = '/usr/bin/chromium';

// playwright-core from the npm ci the setup test ran in the build directory (JT_BROWSER_NPM).
function playwright() {
  const dir = process.env.JT_BROWSER_NPM;
  if (!dir) throw new Error('JT_BROWSER_NPM is not set: run these tests through ctest (tests/browser.cmake)');
  return createRequire(path.join(dir, 'package.json'))('playwright-core');
}

export class Browser {
  constructor(tmpRoot) {
    this.tmpRoot = tmpRoot;
    this.consoleErrors = [];
  }

  async start() {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/deps (as root) to install chromium`);
    this.profile = mkdtempSync(path.join(this.tmpRoot, `chromium-${process.pid}-`));
    this.context = await playwright().chromium.launchPersistentContext(this.profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions',
        '--no-default-browser-check', '--metrics-recording-only', '--disable-domain-reliability'],
      viewport: { width: 1280, height: 900 },
    });
    this.context.setDefaultTimeout(30000);
    return this;
  }

  // A new page whose console errors and uncaught exceptions are collected.
  async page() {
    const page = await this.context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') this.consoleErrors.push(`console: ${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (err) => this.consoleErrors.push(`pageerror: ${err.message}`));
    return page;
  }

  async stop() {
    try {
      await this.context?.close();
    } finally {
      if (this.profile) rmSync(this.profile, { recursive: true, force: true });
    }
  }
}
