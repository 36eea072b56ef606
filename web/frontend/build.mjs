#!/usr/bin/env node
// Build the browser bundle into web/static (app.js, app.css, the service worker
// sw.js, what notes load only when they use it (the emoji table emoji.js, KaTeX's
// katex.js, Mermaid's mermaid.js), and the notices of the bundled packages), or, with --check, build into a temporary directory and
// fail if the committed files differ from what these sources build.
//
//   npm ci --prefix web/frontend
//   node web/frontend/build.mjs           # rebuild web/static
//   node web/frontend/build.mjs --check   # verify the committed bundle
//
// The output must be reproducible: esbuild is pinned, minified output carries no
// paths, and the notices are generated in a sorted order.

import * as esbuild from 'esbuild'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const here = path.dirname(fileURLToPath(import.meta.url))
const staticDir = path.resolve(here, '..', 'static')
const NOTICES = 'app.licenses.txt'
const OUTPUTS = ['app.js', 'app.css', 'sw.js', 'emoji.js', 'katex.js', 'mermaid.js', NOTICES]
const REBUILD = 'npm ci --prefix web/frontend && node web/frontend/build.mjs'

/** Bundle src/main.js (and the CSS it imports) and the service worker into `outdir`; returns esbuild's metafile. */
async function bundle (outdir) {
  const result = await esbuild.build({
    absWorkingDir: here,
    entryPoints: { app: 'src/main.js', sw: 'src/sw.js', emoji: 'src/emoji.js', katex: 'src/katex.js', mermaid: 'src/mermaid.js' },
    outdir,
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    charset: 'utf8',
    legalComments: 'none', // collected into app.licenses.txt instead
    sourcemap: false,
    metafile: true,
    logLevel: 'warning'
  })
  return result.metafile
}

/** The package an input path belongs to, e.g. "node_modules/@codemirror/view/dist/index.js". */
function packageOf (input) {
  const parts = input.split('/')
  const at = parts.lastIndexOf('node_modules')
  if (at < 0) return null
  const scoped = parts[at + 1].startsWith('@')
  const name = scoped ? `${parts[at + 1]}/${parts[at + 2]}` : parts[at + 1]
  const root = parts.slice(0, at + (scoped ? 3 : 2)).join('/')
  return { name, root }
}

/**
 * Every package with code in the bundle (in the outputs `only` keeps), by name, with
 * the directories it came from.
 */
function bundledPackages (metafile, only = () => true) {
  const packages = new Map()
  const used = Object.entries(metafile.outputs)
    .filter(([name]) => only(name))
    .flatMap(([, output]) => Object.entries(output.inputs))
    .filter(([, usage]) => usage.bytesInOutput > 0)
  for (const [input] of used) {
    const pkg = packageOf(input)
    if (pkg === null) continue
    if (!packages.has(pkg.name)) packages.set(pkg.name, new Set())
    packages.get(pkg.name).add(pkg.root)
  }
  return packages
}

/**
 * Two copies of one package (yjs above all) break instanceof checks and y-codemirror:
 * checked in app.js, where the app's packages meet. The files loaded apart (emoji,
 * KaTeX, Mermaid) share nothing with it and may bring copies of their own.
 */
function duplicates (packages) {
  return [...packages].filter(([, roots]) => roots.size > 1)
    .map(([name, roots]) => `${name} is bundled ${roots.size} times: ${[...roots].sort().join(', ')}`)
}

async function licenseText (root) {
  const names = (await readdir(path.join(here, root))).sort()
  const file = names.find((name) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(name))
  return file ? (await readFile(path.join(here, root, file), 'utf8')).trim() : null
}

/** The license notices of every bundled package, in a stable order. */
async function notices (packages) {
  const sections = []
  // Every copy: a file loaded apart may bring versions of its own (Mermaid its KaTeX and marked).
  const roots = [...packages.keys()].sort().flatMap((name) => [...packages.get(name)].sort())
  for (const root of roots) {
    const meta = JSON.parse(await readFile(path.join(here, root, 'package.json'), 'utf8'))
    const text = await licenseText(root)
    sections.push(`${meta.name} ${meta.version} (${meta.license ?? 'see below'})\n\n` +
      (text ?? `License: ${meta.license}. No license file is shipped in the package.`))
  }
  const rule = '\n\n' + '-'.repeat(72) + '\n\n'
  return 'app.js, sw.js, emoji.js, katex.js and mermaid.js bundle the following packages.' + rule + sections.join(rule) + '\n'
}

async function buildInto (outdir) {
  const metafile = await bundle(outdir)
  const packages = bundledPackages(metafile)
  const problems = duplicates(bundledPackages(metafile, (name) => path.basename(name) === 'app.js'))
  if (problems.length > 0) {
    throw new Error(problems.join('\n') + '\nPin one version in package.json and run npm ci.')
  }
  await writeFile(path.join(outdir, NOTICES), await notices(packages))
  return packages
}

async function sizes (dir) {
  const lines = []
  for (const name of ['app.js', 'app.css', 'sw.js', 'emoji.js', 'katex.js', 'mermaid.js']) {
    const data = await readFile(path.join(dir, name))
    lines.push(`${name}: ${(data.length / 1024).toFixed(1)} KiB raw, ` +
      `${(gzipSync(data, { level: 9 }).length / 1024).toFixed(1)} KiB gzip`)
  }
  return lines.join('\n')
}

async function differences (builtDir) {
  const stale = []
  for (const name of OUTPUTS) {
    const built = await readFile(path.join(builtDir, name))
    const committed = await readFile(path.join(staticDir, name)).catch(() => null)
    if (committed === null) stale.push(`web/static/${name} is missing`)
    else if (!built.equals(committed)) stale.push(`web/static/${name} differs from what the sources build`)
  }
  return stale
}

async function check () {
  const dir = await mkdtemp(path.join(tmpdir(), 'collab-notes-build-'))
  try {
    await buildInto(dir)
    const stale = await differences(dir)
    if (stale.length > 0) {
      console.error(`The committed bundle is out of date:\n  ${stale.join('\n  ')}\n` +
        `Rebuild it with \`${REBUILD}\` and commit web/static.`)
      return 1
    }
    console.log('web/static is up to date with web/frontend/src.')
    return 0
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function main (args) {
  if (args.includes('--check')) return check()
  if (args.length > 0) {
    console.error('usage: node web/frontend/build.mjs [--check]')
    return 2
  }
  const packages = await buildInto(staticDir)
  console.log(`built web/static from ${packages.size} packages\n${await sizes(staticDir)}`)
  return 0
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code },
  (error) => {
    console.error(`build failed: ${error.message}`)
    process.exitCode = 1
  }
)
