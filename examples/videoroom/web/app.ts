// videoroom's page: joins a room through the backend's POST /api/join, connects with the official
// client (@jellyfish-dev/ts-client-sdk 0.4.0, unmodified), publishes the camera and microphone,
// and shows a tile per remote peer. window.__test exposes the state the browser tests read.
//
// Bundled by esbuild (e2e/build.mjs) into ../static/app.js.
import { JellyfishClient } from "@jellyfish-dev/ts-client-sdk";
import type { Peer, TrackContext } from "@jellyfish-dev/ts-client-sdk";

type PeerMetadata = { name: string };
type TrackType = "camera" | "microphone";
type TrackMetadata = { type: TrackType; [key: string]: unknown };
type Client = JellyfishClient<PeerMetadata, TrackMetadata>;
type Ctx = TrackContext<PeerMetadata, TrackMetadata>;

/** The body of POST /api/join. */
type JoinAnswer = {
  roomId: string;
  peerId: string;
  token: string;
  peerWebsocketUrl: string;
  signaling: { protocol: string; host: string; path: string };
};

export type JoinOptions = {
  room: string;
  name: string;
  /** Enables the client's reconnection (3 attempts) after the socket drops. */
  reconnect?: boolean;
  /** getUserMedia video constraints (the tests ask for less to spare CPU). */
  video?: MediaTrackConstraints;
};

/** One entry of the event log: every client event, in order, with JSON-safe details. */
type LogEntry = { t: number; type: string; detail?: unknown };

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

// ---- state -------------------------------------------------------------------------------------

const events: LogEntry[] = [];
let client: Client | null = null;
let joinAnswer: JoinAnswer | null = null;
let joined = false;
let joinCount = 0;
let ownPeerId: string | null = null;
let localStream: MediaStream | null = null;
let published = false; // the first `joined` publishes; after a reconnection the client re-adds them
let videoConstraints: MediaTrackConstraints = { width: 640, height: 480 };

function record(type: string, detail?: unknown) {
  events.push({ t: Date.now(), type, detail });
  console.log(`[videoroom] ${type}`, detail === undefined ? "" : JSON.stringify(detail));
}

function setStatus(text: string) {
  $("status").textContent = text;
}

function showError(text: string) {
  $("error").textContent = text;
  record("error", text);
}

const peerName = (p: { metadata?: PeerMetadata; rawMetadata?: unknown }): string | null =>
  p.metadata?.name ?? (p.rawMetadata as PeerMetadata | null | undefined)?.name ?? null;

const trackInfo = (ctx: Ctx) => ({
  trackId: ctx.trackId,
  peerId: ctx.endpoint.id,
  peerName: peerName(ctx.endpoint),
  type: ctx.metadata?.type ?? null,
  metadata: ctx.rawMetadata ?? null,
  kind: ctx.track?.kind ?? null,
  ready: ctx.track != null,
  mediaTrackId: ctx.track?.id ?? null, // the MediaStreamTrack's id: getStats' trackIdentifier
});

// ---- tiles -------------------------------------------------------------------------------------

function tileOf(peerId: string, name: string | null): HTMLElement {
  let tile = document.querySelector<HTMLElement>(`.tile[data-peer-id="${CSS.escape(peerId)}"]`);
  if (!tile) {
    tile = document.createElement("div");
    tile.className = "tile remote";
    tile.dataset.peerId = peerId;
    tile.innerHTML = `<div class="name"></div><video autoplay muted playsinline></video><div class="tracks"></div>`;
    $("grid").append(tile);
  }
  if (name !== null) tile.querySelector(".name")!.textContent = name;
  return tile;
}

function removeTile(peerId: string) {
  const tile = document.querySelector(`.tile[data-peer-id="${CSS.escape(peerId)}"]`);
  tile?.querySelectorAll<HTMLMediaElement>("video, audio").forEach((m) => (m.srcObject = null));
  tile?.remove();
}

function renderTrackList(peerId: string) {
  const tile = document.querySelector(`.tile[data-peer-id="${CSS.escape(peerId)}"]`);
  if (!tile || !client) return;
  const lines = Object.values(client.getRemoteTracks())
    .filter((ctx) => ctx.endpoint.id === peerId)
    .map((ctx) => `${ctx.metadata?.type ?? "?"}${ctx.track ? "" : " (waiting)"}: ${JSON.stringify(ctx.rawMetadata)}`);
  tile.querySelector(".tracks")!.textContent = lines.join(" · ");
}

/** Shows a ready remote track: video in the tile's <video>, audio in its own <audio>. */
function attach(ctx: Ctx) {
  const tile = tileOf(ctx.endpoint.id, peerName(ctx.endpoint));
  if (!ctx.stream || !ctx.track) return;
  if (ctx.track.kind === "video") {
    const video = tile.querySelector("video")!;
    video.dataset.trackId = ctx.trackId;
    video.srcObject = ctx.stream;
    video.play().catch(() => {}); // muted autoplay; a refusal only delays the picture
  } else {
    let audio = tile.querySelector<HTMLAudioElement>(`audio[data-track-id="${CSS.escape(ctx.trackId)}"]`);
    if (!audio) {
      audio = document.createElement("audio");
      audio.autoplay = true;
      audio.dataset.trackId = ctx.trackId;
      tile.append(audio);
    }
    audio.srcObject = ctx.stream;
    audio.play().catch(() => {}); // autoplay policy may need a click; packets flow regardless
  }
  renderTrackList(ctx.endpoint.id);
}

function detach(ctx: Ctx) {
  const tile = document.querySelector(`.tile[data-peer-id="${CSS.escape(ctx.endpoint.id)}"]`);
  tile?.querySelectorAll<HTMLMediaElement>(`[data-track-id="${CSS.escape(ctx.trackId)}"]`).forEach((m) => {
    m.srcObject = null;
    if (m instanceof HTMLAudioElement) m.remove();
  });
  renderTrackList(ctx.endpoint.id);
}

// ---- publishing ----------------------------------------------------------------------------------

async function publish(c: Client) {
  published = true;
  try {
    localStream ??= await navigator.mediaDevices.getUserMedia({ audio: true, video: videoConstraints });
  } catch (e) {
    showError(`getUserMedia failed: ${e}`);
    return;
  }
  $("local-tile").hidden = false;
  ($("local-video") as HTMLVideoElement).srcObject = localStream;
  record("localMedia", localStream.getTracks().map((t) => t.kind));
  // Both are queued at once; the client negotiates them one after the other.
  await Promise.all(
    localStream.getTracks().map(async (track) => {
      const type: TrackType = track.kind === "video" ? "camera" : "microphone";
      try {
        const trackId = await c.addTrack(track, localStream!, { type });
        record("trackPublished", { trackId, type });
      } catch (e) {
        record("addTrackFailed", { type, error: String(e) });
      }
    }),
  );
}

/** The id of our local track of that type (or that id), from the client's local endpoint. */
function localTrackId(typeOrId: string): string | null {
  const tracks = client?.getLocalEndpoint()?.tracks;
  if (!tracks) return null;
  for (const [id, ctx] of tracks) {
    if (id === typeOrId || (ctx.metadata as TrackMetadata | undefined)?.type === typeOrId) return id;
  }
  return null;
}

// ---- joining -------------------------------------------------------------------------------------

function wire(c: Client) {
  c.on("socketOpen", () => record("socketOpen"));
  c.on("socketError", () => record("socketError"));
  c.on("socketClose", (ev) => {
    joined = false;
    record("socketClose", { code: ev.code, reason: ev.reason, wasClean: ev.wasClean });
    setStatus(`socket closed (${ev.code} ${ev.reason || "no reason"})`);
  });
  c.on("authSuccess", () => {
    record("authSuccess");
    setStatus("authenticated, waiting for the room");
  });
  c.on("authError", (reason) => showError(`authentication failed: ${reason}`));
  c.on("disconnected", () => {
    joined = false;
    record("disconnected");
  });
  c.on("joined", (peerId, peers) => {
    joined = true;
    joinCount++;
    ownPeerId = peerId;
    record("joined", { peerId, peers: peers.map((p) => ({ id: p.id, name: peerName(p) })) });
    setStatus(`joined as ${peerId}`);
    $("leave").removeAttribute("disabled");
    peers.forEach((p) => tileOf(p.id, peerName(p)));
    if (!published) void publish(c);
  });
  c.on("joinError", (metadata) => showError(`join error: ${JSON.stringify(metadata)}`));
  c.on("peerJoined", (peer: Peer<PeerMetadata, TrackMetadata>) => {
    record("peerJoined", { id: peer.id, name: peerName(peer) });
    tileOf(peer.id, peerName(peer));
  });
  c.on("peerLeft", (peer) => {
    record("peerLeft", { id: peer.id, name: peerName(peer) });
    removeTile(peer.id);
  });
  c.on("peerUpdated", (peer) => {
    record("peerUpdated", { id: peer.id, name: peerName(peer) });
    tileOf(peer.id, peerName(peer));
  });
  c.on("trackAdded", (ctx) => {
    record("trackAdded", trackInfo(ctx));
    tileOf(ctx.endpoint.id, peerName(ctx.endpoint));
    renderTrackList(ctx.endpoint.id);
  });
  c.on("trackReady", (ctx) => {
    record("trackReady", trackInfo(ctx));
    attach(ctx);
  });
  c.on("trackRemoved", (ctx) => {
    if (!ctx) return; // tracksRemoved for an id the client never knew
    record("trackRemoved", trackInfo(ctx));
    detach(ctx);
  });
  c.on("trackUpdated", (ctx) => {
    record("trackUpdated", trackInfo(ctx));
    renderTrackList(ctx.endpoint.id);
  });
  c.on("disconnectRequested", () => record("disconnectRequested"));
}

async function join({ room, name, reconnect = true, video }: JoinOptions): Promise<JoinAnswer> {
  if (client) throw new Error("already joined; leave first");
  if (video) videoConstraints = video;
  $("error").textContent = "";
  setStatus("joining…");
  const res = await fetch(`/api/join?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}`, {
    method: "POST",
  });
  if (!res.ok) {
    const msg = `POST /api/join: ${res.status} ${await res.text()}`;
    showError(msg);
    throw new Error(msg);
  }
  const answer: JoinAnswer = await res.json();
  record("backendJoin", { roomId: answer.roomId, peerId: answer.peerId, signaling: answer.signaling });
  joinAnswer = answer;
  const c: Client = new JellyfishClient<PeerMetadata, TrackMetadata>({ reconnect });
  client = c;
  wire(c);
  setStatus("connecting…");
  c.connect({
    peerMetadata: { name },
    token: answer.token,
    signaling: { host: answer.signaling.host, protocol: answer.signaling.protocol, path: answer.signaling.path },
  });
  return answer;
}

function leave() {
  const c = client;
  if (!c) return;
  try {
    c.leave(); // sends the "disconnect" media event, closes the RTCPeerConnection
  } catch (e) {
    record("leaveFailed", String(e)); // not initialized: nothing to tell the server
  }
  c.disconnect(); // closes the socket
  client = null;
  joined = false;
  published = false;
  localStream?.getTracks().forEach((t) => t.stop());
  localStream = null;
  document.querySelectorAll<HTMLElement>(".tile.remote").forEach((t) => removeTile(t.dataset.peerId!));
  $("local-tile").hidden = true;
  $("leave").setAttribute("disabled", "");
  record("left");
  setStatus("left");
}

// ---- test surface --------------------------------------------------------------------------------

/** Inbound RTP counters of every receiving stream, matched to the remote track it carries. */
async function getInboundStats() {
  if (!client) return [];
  const byMediaTrack = new Map<string, Ctx>();
  for (const ctx of Object.values(client.getRemoteTracks())) {
    if (ctx.track) byMediaTrack.set(ctx.track.id, ctx);
  }
  const report = await client.getStatistics();
  const out: {
    trackId: string | null;
    peerId: string | null;
    peerName: string | null;
    kind: string;
    mid: string | null;
    trackIdentifier: string;
    packetsReceived: number;
    bytesReceived: number;
    framesDecoded: number | null;
  }[] = [];
  report.forEach((s: any) => {
    if (s.type !== "inbound-rtp") return;
    const ctx = byMediaTrack.get(s.trackIdentifier);
    out.push({
      trackId: ctx?.trackId ?? null,
      peerId: ctx?.endpoint.id ?? null,
      peerName: ctx ? peerName(ctx.endpoint) : null,
      kind: s.kind,
      mid: s.mid ?? null,
      trackIdentifier: s.trackIdentifier,
      packetsReceived: s.packetsReceived ?? 0,
      bytesReceived: s.bytesReceived ?? 0,
      framesDecoded: s.kind === "video" ? (s.framesDecoded ?? 0) : null,
    });
  });
  return out;
}

const testAPI = {
  join,
  leave,
  get joined() {
    return joined;
  },
  get joinCount() {
    return joinCount;
  },
  get peerId() {
    return ownPeerId;
  },
  get backendPeerId() {
    return joinAnswer?.peerId ?? null;
  },
  get events() {
    return events;
  },
  /** Remote peers as the client knows them, with their names from peer metadata. */
  remotePeers() {
    if (!client) return [];
    return Object.values(client.getRemotePeers()).map((p) => ({
      id: p.id,
      name: peerName(p),
      trackIds: [...p.tracks.keys()],
    }));
  },
  /** Every remote track: owner, metadata, and whether media arrived (trackReady). */
  remoteTracks() {
    return client ? Object.values(client.getRemoteTracks()).map(trackInfo) : [];
  },
  /** Our published tracks: id and metadata. */
  localTracks() {
    const tracks = client?.getLocalEndpoint()?.tracks;
    return tracks ? [...tracks].map(([trackId, ctx]) => ({ trackId, metadata: ctx.rawMetadata ?? null })) : [];
  },
  getInboundStats,
  /** Updates the metadata of our track of that type ("camera", "microphone") or id; returns its id. */
  updateTrackMetadata(typeOrId: string, metadata: TrackMetadata) {
    const id = localTrackId(typeOrId);
    if (!id || !client) throw new Error(`no local track ${typeOrId}`);
    client.updateTrackMetadata(id, metadata);
    record("localTrackMetadataUpdate", { trackId: id, metadata });
    return id;
  },
};

declare global {
  interface Window {
    __test: typeof testAPI;
  }
}
window.__test = testAPI;

// ---- page wiring ---------------------------------------------------------------------------------

const form = $("join-form") as HTMLFormElement;
form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const data = new FormData(form);
  join({
    room: String(data.get("room")),
    name: String(data.get("name")),
    reconnect: data.get("reconnect") === "on",
  }).catch((e) => showError(String(e)));
});
$("leave").addEventListener("click", () => leave());
window.addEventListener("pagehide", () => leave());

// ?room=…&name=… pre-fills the form; &autojoin=1 joins right away.
const params = new URLSearchParams(location.search);
for (const key of ["room", "name"]) {
  const v = params.get(key);
  if (v) (form.elements.namedItem(key) as HTMLInputElement).value = v;
}
if (params.get("autojoin") === "1") form.requestSubmit();
record("pageReady");
