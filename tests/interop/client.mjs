#!/usr/bin/env node
// One process = one stock Yjs client (yjs + y-websocket, the code a browser runs),
// remote-controlled by the Python interop tests through newline-delimited JSON.
//
//   node client.mjs <ws base url> <room> [--name NAME] [--watch] [--no-reconnect]
//                   [--max-backoff-ms N] [--param key=value]...
//
// stdin : one JSON command per line, e.g. {"cmd":"insert","index":0,"text":"hi","id":1}
// stdout: one JSON event per line, e.g. {"event":"ack","cmd":"insert","id":1}
// Every command may carry an "id"; its reply (ack, result or error) echoes it.
// Diagnostics go to stderr only; stdout carries nothing but protocol lines.

import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import * as readline from 'node:readline'

// Keep stray library logging off the protocol channel.
console.log = console.error
console.info = console.error

const usage = 'usage: node client.mjs [--name NAME] [--watch] [--no-reconnect] ' +
  '[--max-backoff-ms N] [--param key=value]... [--] <ws base url> <room>'

/** Parse argv into { serverUrl, room, name, watch, reconnect, maxBackoffTime, params }. */
const parseArgs = (argv) => {
  const positional = []
  const opts = { name: null, watch: false, reconnect: true, maxBackoffTime: 2500, params: {} }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`)
      return argv[++i]
    }
    if (arg === '--') { // the rest is positional: a room (a token) may start with '-'
      positional.push(...argv.slice(i + 1))
      break
    } else if (arg === '--name') opts.name = next()
    else if (arg === '--watch') opts.watch = true
    else if (arg === '--no-reconnect') opts.reconnect = false
    else if (arg === '--max-backoff-ms') opts.maxBackoffTime = Number(next())
    else if (arg === '--param') {
      const kv = next()
      const eq = kv.indexOf('=')
      if (eq < 1) throw new Error(`--param expects key=value, got ${kv}`)
      opts.params[kv.slice(0, eq)] = kv.slice(eq + 1)
    } else if (arg.startsWith('--')) throw new Error(`unknown flag ${arg}`)
    else positional.push(arg)
  }
  if (positional.length !== 2) throw new Error(usage)
  return { serverUrl: positional[0], room: positional[1], ...opts }
}

let args
try {
  args = parseArgs(process.argv.slice(2))
} catch (err) {
  console.error(err.message)
  process.exit(2)
}

/** Write one event line; stdout is a pipe, so each write is flushed in order. */
const emit = (event) => {
  process.stdout.write(JSON.stringify(event) + '\n')
}

/** Awareness states as a plain object keyed by client id. */
const statesObject = (awareness) => Object.fromEntries(awareness.getStates())

const ydoc = new Y.Doc()
const ytext = ydoc.getText('content')
const LOCAL = 'interop-local'

const provider = new WebsocketProvider(args.serverUrl, args.room, ydoc, {
  WebSocketPolyfill: WebSocket,
  connect: false, // connected below, once every listener is attached
  maxBackoffTime: args.maxBackoffTime,
  params: args.params,
  // Only consulted for server-initiated closes; local closes are handled below.
  shouldReconnect: () => args.reconnect
})
const awareness = provider.awareness

provider.on('status', ({ status }) => emit({ event: 'status', status }))
provider.on('sync', (synced) => {
  if (synced) emit({ event: 'synced', synced: true, text: ytext.toString() })
  else emit({ event: 'unsynced', synced: false })
})
provider.on('connection-close', (ev) => {
  // ev is null when the client itself dropped the socket (disconnect, 30 s watchdog).
  emit({
    event: 'close',
    code: ev ? ev.code : null,
    reason: ev ? String(ev.reason ?? '') : '',
    local: ev === null
  })
  if (!args.reconnect) provider.shouldConnect = false
})
provider.on('closed', ({ code, reason }) => emit({ event: 'closed', code, reason: String(reason ?? '') }))
provider.on('connection-error', (ev) => {
  emit({ event: 'connection-error', message: String(ev?.message ?? ev?.error?.message ?? 'error') })
})

awareness.on('change', ({ added, updated, removed }, origin) => {
  emit({
    event: 'awareness',
    added,
    updated,
    removed,
    origin: origin === provider ? 'remote' : String(origin),
    states: statesObject(awareness)
  })
})

if (args.watch) {
  ytext.observe((_ev, txn) => {
    const t = performance.now()
    emit({
      event: 'update',
      text: ytext.toString(),
      origin: txn.origin === provider ? 'remote' : 'local',
      t,
      wall: performance.timeOrigin + t
    })
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Type `text` one character per transaction at the end of the document. */
const typeText = async (text, intervalMs) => {
  for (const ch of text) {
    ydoc.transact(() => ytext.insert(ytext.length, ch), LOCAL)
    if (intervalMs > 0) await sleep(intervalMs)
  }
}

let quitting = false

/** Leave cleanly: broadcast our awareness removal, close the socket, then exit. */
const quit = (code = 0) => {
  if (quitting) return
  quitting = true
  const ws = provider.ws
  provider.destroy() // sends a null awareness state, then closes the websocket
  const done = () => process.exit(code)
  if (ws && ws.readyState !== WebSocket.CLOSED) {
    ws.once('close', done)
    setTimeout(done, 1000).unref()
  } else {
    setImmediate(done)
  }
}

const handlers = {
  insert: (c) => { ydoc.transact(() => ytext.insert(c.index, c.text), LOCAL) },
  delete: (c) => { ydoc.transact(() => ytext.delete(c.index, c.length), LOCAL) },
  text: () => ({ event: 'text', text: ytext.toString() }),
  // Where a relative position (base64, as Y.encodeRelativePosition writes it) is now.
  position: (c) => {
    const relative = Y.decodeRelativePosition(Buffer.from(String(c.relative), 'base64'))
    const absolute = Y.createAbsolutePositionFromRelativePosition(relative, ydoc)
    return { event: 'position', index: absolute === null ? null : absolute.index }
  },
  type: (c) => {
    const text = String(c.text)
    typeText(text, Number(c.interval_ms ?? 0)).then(
      () => emit({ event: 'typed', id: c.id, length: [...text].length, text: ytext.toString() }),
      (err) => emit({ event: 'error', id: c.id, cmd: 'type', message: String(err?.stack ?? err) })
    )
  },
  awareness: (c) => { awareness.setLocalState(c.state ?? null) },
  awareness_field: (c) => { awareness.setLocalStateField(c.field, c.value) },
  peers: () => ({ event: 'peers', self: ydoc.clientID, states: statesObject(awareness) }),
  connect: () => { provider.connect() },
  disconnect: () => { provider.disconnect() },
  state: () => ({
    event: 'state',
    client_id: ydoc.clientID,
    connected: provider.wsconnected,
    synced: provider.synced,
    text: ytext.toString()
  }),
  quit: () => { quit(0) }
}

const handleLine = (line) => {
  if (line.trim() === '') return
  let cmd
  try {
    cmd = JSON.parse(line)
  } catch (err) {
    emit({ event: 'error', id: null, message: `bad JSON: ${err.message}` })
    return
  }
  const handler = handlers[cmd.cmd]
  if (handler === undefined) {
    emit({ event: 'error', id: cmd.id ?? null, cmd: cmd.cmd, message: `unknown cmd ${cmd.cmd}` })
    return
  }
  try {
    const result = handler(cmd)
    // `type` answers with `typed` when finished; `quit` answers by exiting.
    if (cmd.cmd === 'type' || cmd.cmd === 'quit') return
    emit({ ...(result ?? { event: 'ack' }), id: cmd.id ?? null, cmd: cmd.cmd })
  } catch (err) {
    emit({ event: 'error', id: cmd.id ?? null, cmd: cmd.cmd, message: String(err?.stack ?? err) })
  }
}

if (args.name !== null) {
  awareness.setLocalStateField('user', { name: args.name })
}
emit({ event: 'ready', client_id: ydoc.clientID, url: provider.url, pid: process.pid })
provider.connect()

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
rl.on('line', handleLine)
// Parent went away (or closed our stdin): never linger as an orphan.
rl.on('close', () => quit(0))
process.on('SIGTERM', () => quit(0))
process.on('SIGINT', () => quit(0))
