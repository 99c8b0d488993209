// Bundles examples/videoroom/web/app.ts with the official client (@jellyfish-dev/ts-client-sdk
// 0.4.0, unmodified, from node_modules) into examples/videoroom/static/app.js.
//
//   node e2e/build.mjs          (scripts/install-e2e-deps runs it after npm ci)
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const app = path.resolve(here, "../examples/videoroom");

const result = await esbuild.build({
  entryPoints: [path.join(app, "web/app.ts")],
  outfile: path.join(app, "static/app.js"),
  absWorkingDir: here, // packages resolve from e2e/node_modules
  nodePaths: [path.join(here, "node_modules")],
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["chrome120"],
  sourcemap: "linked",
  minify: false,
  logLevel: "warning",
  metafile: true,
});
const out = result.metafile.outputs;
const js = Object.keys(out).find((f) => f.endsWith("app.js"));
const sdk = Object.keys(result.metafile.inputs).some((f) => f.includes("@jellyfish-dev/ts-client-sdk/dist/src/JellyfishClient.js"));
if (!sdk) throw new Error("the bundle does not contain @jellyfish-dev/ts-client-sdk's JellyfishClient");
console.log(`bundled ${path.relative(process.cwd(), path.resolve(here, js))} (${Math.round(out[js].bytes / 1024)} KiB)`);
