import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { PNG } from 'pngjs';

/** Debian's Chromium (`apt-get install chromium`); .ci/run installs it when missing. */
export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

/**
 * Headless Chromium on a closed network: without the background-networking flags it keeps trying
 * Google's services and logs refused connections. Playwright gives each launch a fresh profile
 * directory of its own (it refuses a --user-data-dir argument).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** How far a PNG is from a blank page: the number of distinct colours and the luminance variance. */
export function pngSpread(png: Buffer): { colours: number; variance: number; width: number; height: number } {
  const { data, width, height } = PNG.sync.read(png);
  const colours = new Set<number>();
  let sum = 0;
  let sq = 0;
  const n = width * height;
  for (let i = 0; i < data.length; i += 4) {
    colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
    const y = 0.2126 * data[i]! + 0.7152 * data[i + 1]! + 0.0722 * data[i + 2]!;
    sum += y;
    sq += y * y;
  }
  return { colours: colours.size, variance: sq / n - (sum / n) ** 2, width, height };
}
