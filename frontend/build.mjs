// Bundles the front-end from npm packages into static/build (content-hashed) and writes
// static/build/manifest.json, which the templates read through asset('app.js').
import { build } from "esbuild";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "static", "build");
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: {
    app: "frontend/app.js",
    plan: "frontend/plan.js",
    room: "frontend/room.js",
    style: "frontend/app.css",
    print: "frontend/print.css",
  },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: "esm",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  outdir,
  entryNames: "[name]-[hash]",
  assetNames: "assets/[name]-[hash]",
  loader: { ".woff2": "file", ".woff": "file", ".svg": "file" },
  metafile: true,
  logLevel: "warning",
  legalComments: "linked",
});

const manifest = {};
for (const [output, meta] of Object.entries(result.metafile.outputs)) {
  if (!meta.entryPoint) continue;
  const ext = output.endsWith(".css") ? ".css" : ".js";
  const name = Object.entries({
    "frontend/app.js": "app.js",
    "frontend/plan.js": "plan.js",
    "frontend/room.js": "room.js",
    "frontend/app.css": "style.css",
    "frontend/print.css": "print.css",
  }).find(([entry]) => meta.entryPoint === entry)?.[1];
  if (name && output.endsWith(ext)) manifest[name] = basename(output);
}
writeFileSync(join(outdir, "manifest.json"), JSON.stringify(manifest, null, 2));
console.log(`front-end gebouwd: ${Object.keys(manifest).length} bestanden in static/build`);
