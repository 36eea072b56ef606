#!/usr/bin/env node
// The collab-notes benchmark's load generator: one scenario, one server, one run.
//
//   node main.mjs '<json spec>'
//
// spec: {"scenario": "fanout|throughput|join|idle|open", "server": {"kind", "port"},
//        "handshake": bool, "params": {...}}
// It prints JSON lines (see control.mjs) and exits; bench/harness runs it once per
// measurement, as a process of its own beside the server under test.

import { emit, hangUp } from './control.mjs'
import { fanout } from './scenarios/fanout.mjs'
import { idle } from './scenarios/idle.mjs'
import { join } from './scenarios/join.mjs'
import { open } from './scenarios/open.mjs'
import { throughput } from './scenarios/throughput.mjs'
import { describeServer } from './servers.mjs'

const SCENARIOS = { fanout, throughput, join, idle, open }

const main = async () => {
  const spec = JSON.parse(process.argv[2] ?? 'null')
  const run = SCENARIOS[spec?.scenario]
  if (run === undefined) throw new Error(`unknown scenario in ${process.argv[2]}`)
  const ctx = { server: describeServer(spec.server), handshake: Boolean(spec.handshake) }
  const t0 = performance.now()
  const result = await run(ctx, spec.params)
  emit({ event: 'result', wall_s: Math.round(performance.now() - t0) / 1000, ...result })
}

main().then(
  () => { hangUp(); process.exit(0) },
  (err) => { emit({ event: 'error', message: String(err?.stack ?? err) }); hangUp(); process.exit(1) }
)
