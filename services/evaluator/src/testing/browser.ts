/** Headless Chromium for the report tests: the browser, and a page that records what went wrong. */
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium (scripts/test.sh installs it), sandbox-free as root, no background traffic. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * Opens `url` in a fresh 1280×900 page that records console errors, page errors and every request
 * `allowed` refuses (which it blocks); data: and file: URLs are always allowed.
 */
export async function openRecordingPage(
  browser: Browser,
  url: string,
  allowed: (u: URL) => boolean = () => false,
): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.protocol === 'data:' || u.protocol === 'file:' || allowed(u)) return route.continue();
    problems.push(`request outside the page: ${u.href}`);
    return route.abort();
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, problems };
}
