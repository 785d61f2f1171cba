/**
 * The chat page in headless Chromium (Debian's chromium + playwright-core): send a message, watch
 * tokens stream in, press stop, reload and find the conversation again. A screenshot is saved in
 * the test's temp folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, HAVE_FIXTURES } from './fixtures.js';
import { loadModel } from '../src/index.js';
import { createServer } from '../src/server/app.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const skip = !HAVE_FIXTURES ? 'fixtures not found (../shared/fixtures)' : !CHROMIUM ? 'no chromium (apt-get install chromium)' : false;

test('chat page: streamed reply, stop, conversation kept across reloads', { skip, timeout: 180_000 }, async () => {
  const { chromium } = await import('playwright-core');
  const model = await loadModel(fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf'), { threads: 2 });
  const { app } = createServer(model);
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    await page.goto(base);
    // Browser-side code as strings: this file is compiled without the DOM library.
    await page.waitForFunction("document.getElementById('model')?.textContent === 'tiny-llama3-chat.q8_0'");
    // A long reply, so it is still streaming when we look and when we press stop.
    await page.click('#settings summary');
    await page.fill('#max_tokens', '4000');
    await page.fill('#temperature', '1');
    await page.fill('#input', 'Tell me a long story');
    await page.press('#input', 'Enter');
    await page.waitForSelector('.msg.user');
    const reply = page.locator('.msg.assistant .body').last();
    const replyLength = "(document.querySelector('.msg.assistant .body')?.textContent ?? '').length";
    await page.waitForFunction(`${replyLength} > 0`);
    const early = (await reply.textContent()) ?? '';
    await page.waitForFunction(`${replyLength} > ${early.length}`);
    assert.equal(await page.isDisabled('#stop'), false, 'stop is enabled while streaming');
    await page.click('#stop');
    await page.waitForFunction("document.getElementById('stop').disabled");
    assert.match((await page.locator('.msg.assistant .meta').last().textContent()) ?? '', /stopped/);
    const text = (await reply.textContent()) ?? '';
    assert.ok(text.length > early.length, 'tokens kept streaming in');
    for (let i = 0; i < 100 && model.stats().running > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(model.stats().running, 0, 'stop cancelled the request on the server');
    await page.reload();
    await page.waitForSelector('.msg.assistant');
    assert.equal(await page.locator('.msg.user .body').first().textContent(), 'Tell me a long story');
    assert.equal((await page.locator('.msg.assistant .body').first().textContent())?.length, text.length);
    const shot = join(mkdtempSync(join(tmpdir(), 'llama-ts-chat-page-')), 'chat.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 1000);
    console.log(`# screenshot: ${shot}`);
  } finally {
    await browser.close();
    await app.close();
    await model.dispose();
  }
});
