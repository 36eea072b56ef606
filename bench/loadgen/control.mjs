// The load generator's side of its conversation with the orchestrator (bench/harness).
//
// stdout carries one JSON object per line and nothing else: `phase` events (the
// orchestrator samples the server's CPU and memory at each), then one `result`
// or `error`. When the orchestrator asks for handshakes, every phase waits for
// one line on stdin, so a sample is taken before the load moves on.

import * as readline from 'node:readline'

// Libraries that log must not corrupt the protocol channel.
console.log = console.error
console.info = console.error
console.warn = console.error

/** Write one event line. */
export const emit = (event) => {
  process.stdout.write(JSON.stringify(event) + '\n')
}

const waiting = []
let stdinLines = null

const listen = () => {
  stdinLines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
  stdinLines.on('line', () => {
    const resolve = waiting.shift()
    if (resolve !== undefined) resolve()
  })
}

/**
 * Announce a phase; with handshakes on, resolve once the orchestrator answers.
 * @param {boolean} handshake
 * @param {string} name
 * @param {object} [data]
 */
export const phase = (handshake, name, data = {}) => {
  emit({ event: 'phase', name, t: performance.now(), ...data })
  if (!handshake) return Promise.resolve()
  if (stdinLines === null) listen()
  return new Promise((resolve) => waiting.push(resolve))
}

/** Stop listening to stdin so that the process can exit. */
export const hangUp = () => {
  if (stdinLines !== null) stdinLines.close()
}
