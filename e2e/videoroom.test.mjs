// Browser tests of examples/videoroom: headless Debian Chromium (driven by playwright-core) runs
// the page with the unmodified @jellyfish-dev/ts-client-sdk 0.4.0 against the videoroom backend,
// which embeds the engine and serves the Jellyfish API on 127.0.0.1.
//
// Run through e2e/run.sh (inside a loopback-only network namespace), after
// scripts/install-e2e-deps. Environment:
//   E2E_VIDEOROOM_BIN  a prebuilt videoroom binary (default: go build ./examples/videoroom)
//   CHROMIUM_PATH      the browser (default /usr/bin/chromium)
//   E2E_LOG_LEVEL      the backend's log level (default info)
// Logs go to e2e/test-output/: the backend's, and per page its console and every media event its
// peer socket carried (<name>.media-events.log).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..");
const outDir = path.join(here, "test-output");

// The flags of shared/design/LOOPBACK-WEBRTC.md. No --disable-features: it would replace
// Playwright's own list. Playwright adds a fresh --user-data-dir per launch.
const CHROMIUM_FLAGS = [
  "--allow-loopback-in-peer-connection", // without it WebRTC sees no network on loopback
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// Bounds (ms). The whole file stays under 3 minutes even when every wait times out.
const T = {
  build: 120_000,
  start: 15_000,
  auth: 10_000,
  joined: 15_000,
  names: 10_000,
  media: 25_000,
  leave: 10_000,
  metadata: 10_000,
  reconnect: 20_000,
  file: 175_000,
};
// Camera constraints: small, to spare the CPU of machines that run four pages at once.
const VIDEO = { width: 320, height: 240, frameRate: 15 };
// Growth that proves media flows: decoded video frames / received audio packets, per track.
const MIN_FRAMES = 10;
const MIN_AUDIO_PACKETS = 25;

// ---- helpers -----------------------------------------------------------------------------------

/** Polls check() until it returns true; otherwise fails with its last explanation (a string). */
async function waitFor(what, timeoutMs, check, diagnose) {
  const deadline = Date.now() + timeoutMs;
  let why = "";
  for (;;) {
    let r;
    try {
      r = await check();
    } catch (e) {
      r = `check threw: ${e.message ?? e}`;
    }
    if (r === true) return;
    why = r;
    if (Date.now() >= deadline) break;
    await sleep(250);
  }
  const extra = diagnose ? `\n${await diagnose()}` : "";
  assert.fail(`${what} (waited ${timeoutMs / 1000} s): ${why}${extra}`);
}

/** The videoroom backend: built (or E2E_VIDEOROOM_BIN), started on a free port of 127.0.0.1. */
async function startBackend() {
  let bin = process.env.E2E_VIDEOROOM_BIN;
  if (!bin) {
    bin = path.join(outDir, "videoroom");
    execFileSync("go", ["build", "-o", bin, "./examples/videoroom"], {
      cwd: repo,
      stdio: ["ignore", "inherit", "inherit"],
      timeout: T.build,
      // Inside the namespace nothing can be downloaded: use the module cache only.
      env: { ...process.env, PATH: `${process.env.PATH}:/usr/local/go/bin`, GOPROXY: process.env.GOPROXY ?? "off" },
    });
  }
  const log = fs.createWriteStream(path.join(outDir, "videoroom.log"));
  const level = process.env.E2E_LOG_LEVEL ?? "info"; // debug: every TURN packet (megabytes)
  const proc = spawn(bin, ["-addr", "127.0.0.1:0", "-test-hooks", "-log-level", level], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stderr.pipe(log);
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("videoroom did not print its URL")), T.start);
    let buf = "";
    proc.stdout.on("data", (chunk) => {
      buf += chunk;
      log.write(chunk);
      const m = /open (http:\/\/127\.0\.0\.1:\d+)\//.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`videoroom exited with ${code}; see ${path.join(outDir, "videoroom.log")}`));
    });
  });
  return {
    url,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill("SIGTERM");
      const killer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
      await once(proc, "exit");
      clearTimeout(killer);
      log.end();
    },
  };
}

/** Decodes the PeerMessage kind of a peer-socket frame (field 1/2/3 of the oneof). */
function frameKind(payload) {
  const b = typeof payload === "string" ? Buffer.from(payload) : payload;
  return { 0x0a: "authenticated", 0x12: "authRequest", 0x1a: "mediaEvent" }[b[0]] ?? "other";
}

/** The JSON text of a PeerMessage{media_event{data}} frame, or null. */
function mediaEventJSON(payload) {
  const b = typeof payload === "string" ? Buffer.from(payload) : payload;
  let i = 0;
  const varint = () => {
    let v = 0;
    for (let shift = 0; i < b.length; shift += 7) {
      const x = b[i++];
      v += (x & 0x7f) * 2 ** shift;
      if (x < 0x80) return v;
    }
    return -1;
  };
  if (b[i++] !== 0x1a || varint() < 0 || b[i++] !== 0x0a) return null;
  const n = varint();
  return n < 0 ? null : b.subarray(i, i + n).toString("utf8");
}

/** One browser page in its own context, running the videoroom page as one participant. */
class Participant {
  constructor(name, context, page) {
    this.name = name;
    this.context = context;
    this.page = page;
    this.console = [];
    this.mediaEvents = []; // "<ms> sent|received <JSON>", saved to test-output/<name>.media-events.log
    this.peerId = null;
    // What the peer socket carried, seen from outside the page (Playwright's WebSocket events).
    this.socket = { opened: 0, closed: 0, sent: {}, received: {} };
    page.on("console", (m) => this.console.push(`[${m.type()}] ${m.text()}`));
    page.on("pageerror", (e) => this.console.push(`[pageerror] ${e.message}`));
    page.on("websocket", (ws) => {
      if (!ws.url().endsWith("/socket/peer/websocket")) return;
      this.socket.opened++;
      const count = (dir) => (f) => {
        const k = frameKind(f.payload);
        this.socket[dir][k] = (this.socket[dir][k] ?? 0) + 1;
        if (k === "mediaEvent") this.mediaEvents.push(`${Date.now()} ${dir} ${mediaEventJSON(f.payload)}`);
      };
      ws.on("framesent", count("sent"));
      ws.on("framereceived", count("received"));
      ws.on("close", () => this.socket.closed++);
    });
  }

  static async open(browser, baseURL, name) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const p = new Participant(name, context, page);
    await page.goto(`${baseURL}/`);
    await page.waitForFunction(() => window.__test !== undefined, null, { timeout: T.start, polling: 100 });
    return p;
  }

  async join(room, { reconnect = false } = {}) {
    const answer = await this.page.evaluate((o) => window.__test.join(o), { room, name: this.name, reconnect, video: VIDEO });
    this.peerId = answer.peerId;
    return answer;
  }

  state() {
    return this.page.evaluate(() => ({
      joined: window.__test.joined,
      joinCount: window.__test.joinCount,
      peerId: window.__test.peerId,
      remotePeers: window.__test.remotePeers(),
      remoteTracks: window.__test.remoteTracks(),
      events: window.__test.events.map((e) => e.type),
    }));
  }

  events() {
    return this.page.evaluate(() => window.__test.events);
  }

  stats() {
    return this.page.evaluate(() => window.__test.getInboundStats());
  }

  /** A one-paragraph account of this participant, for failure messages. */
  async diagnose() {
    let events = [];
    try {
      events = await this.events();
    } catch (e) {
      events = [{ type: `(page unavailable: ${e.message})` }];
    }
    const s = this.socket;
    return (
      `  ${this.name} (peer ${this.peerId}): socket opened ${s.opened}x, closed ${s.closed}x; ` +
      `frames sent ${JSON.stringify(s.sent)}, received ${JSON.stringify(s.received)}\n` +
      `    last events: ${events
        .slice(-15)
        .map((e) => e.type + (e.detail === undefined ? "" : " " + JSON.stringify(e.detail).slice(0, 160)))
        .join(" | ")}`
    );
  }

  async saveLogs() {
    fs.writeFileSync(path.join(outDir, `${this.name}.console.log`), this.console.join("\n") + "\n");
    fs.writeFileSync(path.join(outDir, `${this.name}.media-events.log`), this.mediaEvents.join("\n") + "\n");
  }

  async close() {
    await this.saveLogs().catch(() => {});
    await this.context.close().catch(() => {});
  }
}

const diagnoseAll = (ps) => async () => (await Promise.all(ps.map((p) => p.diagnose()))).join("\n");

/** Waits until p got `connected` (the client's `joined`), with a precise message if it never does. */
async function waitJoined(p, others = []) {
  await waitFor(`${p.name}: peer never received connected`, T.joined, async () => {
    const st = await p.state();
    if (st.joined) return true;
    const s = p.socket;
    if (!s.opened) return "its peer socket never opened";
    if (!s.received.authenticated) return "the socket opened but the server never answered authenticated";
    return (
      `the socket is open and authenticated, the client sent ${s.sent.mediaEvent ?? 0} media event(s) ` +
      `(connect first), the server sent ${s.received.mediaEvent ?? 0}: no "connected" media event arrived`
    );
  }, diagnoseAll([p, ...others]));
}

/** Waits until p knows exactly the peers `expected` (Participants), with their names. */
async function waitSeesPeers(p, expected, timeoutMs = T.names) {
  const want = expected.map((e) => `${e.peerId}=${e.name}`).sort();
  await waitFor(`${p.name} sees ${expected.map((e) => e.name).join(", ") || "nobody"}`, timeoutMs, async () => {
    const got = (await p.state()).remotePeers.map((r) => `${r.id}=${r.name}`).sort();
    return JSON.stringify(got) === JSON.stringify(want) || `remote peers ${JSON.stringify(got)}, want ${JSON.stringify(want)}`;
  }, diagnoseAll([p]));
}

/** Waits until p has a ready (trackReady) audio and video track of each publisher in `from`. */
async function waitTracksReady(p, from, timeoutMs = T.media) {
  await waitFor(`${p.name} gets the tracks of ${from.map((f) => f.name).join(", ")}`, timeoutMs, async () => {
    const st = await p.state();
    const missing = from.flatMap((f) =>
      ["video", "audio"]
        .filter((kind) => !st.remoteTracks.some((t) => t.peerId === f.peerId && t.kind === kind && t.ready))
        .map((kind) => `${f.name}'s ${kind}`),
    );
    return missing.length === 0 || `not ready (trackReady): ${missing.join(", ")} — tracks: ${JSON.stringify(st.remoteTracks)}`;
  }, diagnoseAll([p]));
}

/**
 * Waits until p has a ready audio and video track of each publisher in `from` and media flows on
 * each: framesDecoded (video) and packetsReceived (audio) grow by the minimums from their first
 * sample.
 */
async function waitMediaFrom(p, from, timeoutMs = T.media) {
  const first = new Map(); // trackId -> first counter value
  await waitFor(`${p.name} receives media from ${from.map((f) => f.name).join(", ")}`, timeoutMs, async () => {
    const st = await p.state();
    const missing = [];
    const tracks = [];
    for (const f of from) {
      for (const kind of ["video", "audio"]) {
        const t = st.remoteTracks.find((t) => t.peerId === f.peerId && t.kind === kind && t.ready);
        if (t) tracks.push({ ...t, owner: f.name });
        else missing.push(`${f.name}'s ${kind} track not ready (trackReady)`);
      }
    }
    if (missing.length) return missing.join("; ") + ` — tracks: ${JSON.stringify(st.remoteTracks)}`;
    const stats = await p.stats();
    const slow = [];
    for (const t of tracks) {
      const s = stats.find((s) => s.trackId === t.trackId);
      if (!s) {
        const all = stats.map((s) => `${s.kind} mid ${s.mid} ${s.trackIdentifier}: ${s.packetsReceived} packets`).join(", ");
        slow.push(`${t.owner}'s ${t.kind} (${t.mediaTrackId}): no inbound-rtp stats, so no RTP arrived [inbound-rtp: ${all || "none"}]`);
        continue;
      }
      const value = t.kind === "video" ? s.framesDecoded : s.packetsReceived;
      if (!first.has(t.trackId)) first.set(t.trackId, value);
      const grown = value - first.get(t.trackId);
      const need = t.kind === "video" ? MIN_FRAMES : MIN_AUDIO_PACKETS;
      if (grown < need) {
        slow.push(`${t.owner}'s ${t.kind}: ${t.kind === "video" ? "framesDecoded" : "packetsReceived"} ${first.get(t.trackId)} -> ${value}`);
      }
    }
    return slow.length === 0 || `not flowing yet: ${slow.join("; ")}`;
  }, diagnoseAll([p]));
}

// ---- the tests ---------------------------------------------------------------------------------

describe("videoroom in Chromium with @jellyfish-dev/ts-client-sdk 0.4.0", { timeout: T.file }, () => {
  let backend;
  let browser;
  const everyone = [];
  const room = `e2e-${Date.now().toString(36)}`;
  let alice, bob, carol, dave;
  // Which earlier steps succeeded; later steps that need them are skipped with the reason.
  const done = new Set();
  const needs = (t, ...steps) => {
    const missing = steps.filter((s) => !done.has(s));
    if (missing.length) t.skip(`needs: ${missing.join(", ")} (failed above)`);
    return missing.length === 0;
  };
  const open = async (name) => {
    const p = await Participant.open(browser, backend.url, name);
    everyone.push(p);
    return p;
  };

  before(async () => {
    fs.mkdirSync(outDir, { recursive: true });
    backend = await startBackend();
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: T.start,
    });
  });

  after(async () => {
    await Promise.all(everyone.map((p) => p.close()));
    await browser?.close().catch(() => {});
    await backend?.stop();
  });

  test("three pages load, open the peer socket and authenticate", async () => {
    [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map(open));
    for (const p of [alice, bob, carol]) {
      const answer = await p.join(room);
      assert.match(answer.token, /\S/, "POST /api/join returned no token");
      assert.equal(answer.signaling.path, "/socket/peer/websocket");
    }
    for (const p of [alice, bob, carol]) {
      await waitFor(`${p.name}: authSuccess`, T.auth, async () => {
        const ev = (await p.state()).events;
        return ev.includes("authSuccess") || `events so far: ${ev.join(", ")}`;
      }, diagnoseAll([p]));
      assert.ok(p.socket.received.authenticated >= 1, `${p.name}: no authenticated frame seen on the socket`);
      assert.ok(p.socket.sent.authRequest >= 1, `${p.name}: no auth_request frame seen on the socket`);
    }
    done.add("authenticated");
  });

  test("each peer joins (connected) and sees the two others by name", async (t) => {
    if (!needs(t, "authenticated")) return;
    const three = [alice, bob, carol];
    await Promise.all(three.map((p) => waitJoined(p, three.filter((o) => o !== p))));
    for (const p of three) {
      assert.equal((await p.state()).peerId, p.peerId, `${p.name}: connected.id is not the peer id the backend created`);
    }
    await Promise.all(three.map((p) => waitSeesPeers(p, three.filter((o) => o !== p))));
    done.add("joined");
  });

  test("each peer decodes the others' video and receives their audio", async (t) => {
    if (!needs(t, "joined")) return;
    const three = [alice, bob, carol];
    await Promise.all(three.map((p) => waitMediaFrom(p, three.filter((o) => o !== p))));
    done.add("media");
  });

  test("a fourth peer joins late and gets every track; the others get its tracks", async (t) => {
    if (!needs(t, "joined")) return;
    dave = await open("dave");
    await dave.join(room);
    await waitJoined(dave);
    await waitSeesPeers(dave, [alice, bob, carol]);
    await Promise.all([alice, bob, carol].map((p) => waitSeesPeers(p, [alice, bob, carol, dave].filter((o) => o !== p))));
    await Promise.all([
      waitMediaFrom(dave, [alice, bob, carol]),
      ...[alice, bob, carol].map((p) => waitMediaFrom(p, [dave])),
    ]);
    done.add("late joiner");
  });

  test("a peer that leaves disappears from the others, with its tracks", async (t) => {
    if (!needs(t, "late joiner")) return;
    const gone = dave.peerId;
    const goneTracks = (await alice.state()).remoteTracks.filter((x) => x.peerId === gone).map((x) => x.trackId);
    assert.equal(goneTracks.length, 2, "alice should know dave's two tracks before he leaves");
    await dave.page.evaluate(() => window.__test.leave());
    for (const p of [alice, bob, carol]) {
      await waitFor(`${p.name} sees dave leave`, T.leave, async () => {
        const st = await p.state();
        const events = await p.events();
        if (st.remotePeers.some((r) => r.id === gone)) return "dave is still a remote peer";
        if (st.remoteTracks.some((x) => x.peerId === gone)) return "dave's tracks are still remote tracks";
        if (!events.some((e) => e.type === "peerLeft" && e.detail.id === gone)) return "no peerLeft event for dave";
        const removed = events.filter((e) => e.type === "trackRemoved" && e.detail.peerId === gone).map((e) => e.detail.trackId);
        const notRemoved = goneTracks.filter((id) => !removed.includes(id));
        return notRemoved.length === 0 || `no trackRemoved for ${notRemoved.join(", ")}`;
      }, diagnoseAll([p]));
    }
    await Promise.all([alice, bob, carol].map((p) => waitSeesPeers(p, [alice, bob, carol].filter((o) => o !== p))));
  });

  test("a track-metadata update reaches the others", async (t) => {
    if (!needs(t, "joined")) return;
    const metadata = { type: "camera", label: "bob's camera, updated" };
    const trackId = await bob.page.evaluate((m) => window.__test.updateTrackMetadata("camera", m), metadata);
    for (const p of [alice, carol]) {
      await waitFor(`${p.name} gets bob's new camera metadata`, T.metadata, async () => {
        const events = await p.events();
        const track = (await p.state()).remoteTracks.find((x) => x.trackId === trackId);
        if (!track) return `no remote track ${trackId}`;
        if (JSON.stringify(track.metadata) !== JSON.stringify(metadata)) return `metadata is ${JSON.stringify(track.metadata)}`;
        return events.some((e) => e.type === "trackUpdated" && e.detail.trackId === trackId) || "no trackUpdated event";
      }, diagnoseAll([p, bob]));
    }
  });

  // Separate room, independent of the cases above. The server drops erin's socket (1011) through
  // the backend's test hook; the client (reconnect: true) opens a new socket with the same token,
  // joins again and re-publishes (new track ids); frank sees her come back and gets her media.
  test("the client reconnects after the server drops its socket", async () => {
    const room2 = `${room}-reconnect`;
    const erin = await open("erin");
    const frank = await open("frank");
    await erin.join(room2, { reconnect: true });
    await frank.join(room2);
    await Promise.all([waitJoined(erin, [frank]), waitJoined(frank, [erin])]);
    await Promise.all([waitSeesPeers(erin, [frank]), waitSeesPeers(frank, [erin])]);
    // Media itself is checked after the reconnection only, so that this case is about reconnecting.
    await Promise.all([waitTracksReady(erin, [frank]), waitTracksReady(frank, [erin])]);
    const oldTracks = (await frank.state()).remoteTracks.filter((x) => x.peerId === erin.peerId).map((x) => x.trackId);

    const res = await fetch(`${backend.url}/api/test/drop-socket?room=${room2}&peer=${erin.peerId}`, { method: "POST" });
    assert.equal(res.status, 204, `drop-socket: ${res.status} ${await res.text()}`);

    await waitFor("erin's client sees its socket closed and joins again", T.reconnect, async () => {
      const events = await erin.events();
      const closed = events.find((e) => e.type === "socketClose");
      if (!closed) return "no socketClose";
      const st = await erin.state();
      return (st.joinCount >= 2 && st.joined) || `socket closed (${JSON.stringify(closed.detail)}), joinCount ${st.joinCount}, joined ${st.joined}`;
    }, diagnoseAll([erin, frank]));
    assert.equal((await erin.state()).peerId, erin.peerId, "erin came back as another peer");
    assert.ok(erin.socket.opened >= 2, "erin's client did not open a second socket");

    await waitSeesPeers(frank, [erin], T.reconnect);
    await waitFor("frank gets erin's re-published tracks", T.reconnect, async () => {
      const now = (await frank.state()).remoteTracks.filter((x) => x.peerId === erin.peerId && x.ready);
      const fresh = now.filter((x) => !oldTracks.includes(x.trackId));
      return fresh.length === 2 || `erin's ready tracks: ${JSON.stringify(now)}`;
    }, diagnoseAll([frank, erin]));
    await Promise.all([waitMediaFrom(frank, [erin]), waitMediaFrom(erin, [frank])]);
  });
});
