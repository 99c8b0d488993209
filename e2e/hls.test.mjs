// Browser test of examples/rtsp-to-hls: a simulated RTSP camera goes into a room through the
// RTSP component and out through the HLS component as LL-HLS; headless Debian Chromium plays the
// stream with hls.js (npm), and the test checks that the video's time advances.
//
// Run through e2e/run.sh (loopback-only namespace), after scripts/install-e2e-deps (hls.js,
// ffmpeg). E2E_RTSP_TO_HLS_BIN: a prebuilt binary (default: go build ./examples/rtsp-to-hls).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..");
const outDir = path.join(here, "test-output");
const T = { build: 120_000, start: 30_000, play: 60_000, advance: 20_000 };

/** A TCP port that was free a moment ago (for the camera's RTSP server). */
async function freePort() {
  const srv = net.createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const { port } = srv.address();
  srv.close();
  await once(srv, "close");
  return port;
}

let app;
let browser;

async function startApp() {
  let bin = process.env.E2E_RTSP_TO_HLS_BIN;
  if (!bin) {
    bin = path.join(outDir, "rtsp-to-hls");
    execFileSync("go", ["build", "-o", bin, "./examples/rtsp-to-hls"], {
      cwd: repo,
      stdio: ["ignore", "inherit", "inherit"],
      timeout: T.build,
      env: { ...process.env, PATH: `${process.env.PATH}:/usr/local/go/bin`, GOPROXY: process.env.GOPROXY ?? "off" },
    });
  }
  const log = fs.createWriteStream(path.join(outDir, "rtsp-to-hls.log"));
  const args = ["-addr", "127.0.0.1:0", "-camera-addr", `127.0.0.1:${await freePort()}`,
    "-hlsjs", path.join(here, "node_modules/hls.js/dist/hls.min.js")];
  const proc = spawn(bin, args, { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
  proc.stderr.pipe(log);
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("rtsp-to-hls did not print its URL")), T.start);
    let buf = "";
    proc.stdout.on("data", (chunk) => {
      buf += chunk;
      log.write(chunk);
      const m = /open (http:\/\/127\.0\.0\.1:\d+\/player)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`rtsp-to-hls exited with ${code}; see ${path.join(outDir, "rtsp-to-hls.log")}`));
    });
  });
  return {
    url,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill("SIGTERM");
      const killer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await once(proc, "exit");
      clearTimeout(killer);
      log.end();
    },
  };
}

before(async () => {
  fs.mkdirSync(outDir, { recursive: true });
  app = await startApp();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--autoplay-policy=no-user-gesture-required"],
    timeout: T.start,
  });
});

after(async () => {
  await browser?.close().catch(() => {});
  await app?.stop();
});

test("a Chromium page plays the room's LL-HLS stream with hls.js and its video time advances", { timeout: T.play + T.advance + 30_000 }, async () => {
  const page = await browser.newPage();
  const consoleLog = fs.createWriteStream(path.join(outDir, "hls-player.console.log"));
  page.on("console", (m) => consoleLog.write(`${m.type()}: ${m.text()}\n`));
  await page.goto(app.url);
  const state = () => page.evaluate(() => ({
    ...window.player,
    time: document.getElementById("video").currentTime,
    width: document.getElementById("video").videoWidth,
    height: document.getElementById("video").videoHeight,
  }));

  let s;
  const deadline = Date.now() + T.play;
  for (;;) {
    s = await state();
    assert.equal(s.error, null, `the player failed: ${s.error}`);
    if (s.time > 1) break;
    if (Date.now() > deadline) assert.fail(`video time did not pass 1 s within ${T.play / 1000} s: ${JSON.stringify(s)}`);
    await sleep(500);
  }
  assert.equal(s.width, 640, `decoded width ${s.width}`);
  assert.equal(s.height, 360, `decoded height ${s.height}`);
  const t0 = s.time;
  await sleep(5_000);
  s = await state();
  assert.equal(s.error, null, `the player failed: ${s.error}`);
  assert.ok(s.time > t0 + 2, `video time went from ${t0} to ${s.time} in 5 s; want it to advance`);
  consoleLog.end();
  await page.close();
});
