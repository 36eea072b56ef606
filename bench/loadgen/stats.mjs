// Small measuring tools: percentiles, the process's own CPU, the event loop's delay.

import { monitorEventLoopDelay } from 'node:perf_hooks'

/** p50/p95/p99/max/mean of a list of milliseconds, rounded to 0.01 ms. */
export const summarize = (values) => {
  if (values.length === 0) return { count: 0, p50: null, p95: null, p99: null, max: null, mean: null }
  const sorted = Float64Array.from(values).sort()
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
  const round = (x) => Math.round(x * 100) / 100
  let sum = 0
  for (const v of sorted) sum += v
  return {
    count: sorted.length,
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    p99: round(at(0.99)),
    max: round(sorted[sorted.length - 1]),
    mean: round(sum / sorted.length)
  }
}

/**
 * How busy this process was between start() and stop(): CPU as % of one core,
 * and the event loop's delay (a saturated load generator shows up here first).
 */
export class SelfMeter {
  start () {
    this.histogram = monitorEventLoopDelay({ resolution: 5 })
    this.histogram.enable()
    this.cpu = process.cpuUsage()
    this.wall = performance.now()
  }

  stop () {
    const cpu = process.cpuUsage(this.cpu)
    const wallMs = performance.now() - this.wall
    this.histogram.disable()
    const ms = (ns) => Math.round(ns / 1e4) / 100
    return {
      cpu_pct: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 1000) / 10,
      loop_delay_p99_ms: ms(this.histogram.percentile(99)),
      loop_delay_max_ms: ms(this.histogram.max)
    }
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolve with the promise's value, or reject after `ms`. */
export const within = (promise, ms, what) => {
  let timer
  const timeout = new Promise((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Poll `done()` every 20 ms until it holds or `ms` pass; resolve with whether it held. */
export const until = async (done, ms) => {
  const deadline = performance.now() + ms
  while (!done()) {
    if (performance.now() >= deadline) return false
    await sleep(20)
  }
  return true
}
