// Join storm: N clients open one note at the same moment; how long until all are synced.
//
// Three notes: one holding `bytes` of text, one with a long editing history
// (`structs` Yjs structs: many small inserts and deletes at random places), and
// a new empty one. For the first two a "holder" client stays connected, so the
// room is open and loaded on every server; a probe client checks the server
// really holds the content before the storm.

import { BenchClient, connectAll } from '../client.mjs'
import { phase } from '../control.mjs'
import { createsWithContent, newRoom } from '../servers.mjs'
import { SelfMeter, sleep, summarize, within } from '../stats.mjs'
import { prose, seeded, structCount } from '../text.mjs'

/**
 * @param {object} p {note: 'large'|'history'|'empty', clients, bytes, structs, timeout_s, seed,
 *   repeat (storms in a row, for profiling; each empty-note storm gets a new note)}
 */
export const join = async (ctx, p) => {
  const rng = seeded(p.seed)
  let note = await prepare(ctx.server, p, rng)
  const meter = new SelfMeter()
  await phase(ctx.handshake, 'measure-start')
  meter.start()
  let result
  for (let i = 0; i < (p.repeat ?? 1); i++) {
    if (i > 0 && p.note === 'empty') note = await prepare(ctx.server, p, rng)
    result = await storm(ctx.server, note, p)
  }
  const self = meter.stop()
  await phase(ctx.handshake, 'measure-end')
  return { ...result, loadgen: self }
}

/** `p.clients` clients open the note at once; wait until all synced (or time out). */
const storm = async (server, { room, expected, structs }, p) => {
  const t0 = performance.now()
  const clients = connectAll(server, room, p.clients)
  const times = []
  let mismatched = 0
  for (const c of clients) {
    c.whenSynced.then((t) => {
      times.push(t - t0)
      if (c.text.toString() !== expected) mismatched++
    })
  }
  let timedOut = 0
  try {
    await within(Promise.all(clients.map((c) => c.whenSynced)), p.timeout_s * 1000, 'join storm')
  } catch {
    timedOut = clients.filter((c) => c.syncedAt === null).length
  }
  const reconnects = clients.reduce((n, c) => n + c.reconnects, 0)
  if ((p.repeat ?? 1) > 1) clients.forEach((c) => c.destroy())
  return {
    all_synced_ms: timedOut ? null : Math.round(Math.max(...times) * 10) / 10,
    synced_ms: summarize(times),
    timed_out: timedOut,
    mismatched,
    text_chars: expected.length,
    structs,
    reconnects
  }
}

const prepare = async (server, p, rng) => {
  if (p.note === 'empty') return { room: await newRoom(server), expected: '', structs: 0 }
  const content = p.note === 'large' ? prose(p.bytes, rng) : ''
  const seeded = createsWithContent(server) && content !== ''
  const room = await newRoom(server, seeded ? content : '')
  const holder = new BenchClient(server, room)
  await within(holder.whenSynced, 30000, 'holder syncing')
  if (p.note === 'large' && !seeded) holder.text.insert(0, content)
  if (p.note === 'history') await writeHistory(holder, p.structs, rng)
  const expected = holder.text.toString()
  await probe(server, room, expected)
  return { room, expected, structs: structCount(holder.doc) }
}

/** Small edits at random places, 100 per transaction, until the document has `target` structs. */
const writeHistory = async (client, target, rng) => {
  const { doc, text } = client
  while (structCount(doc) < target) {
    doc.transact(() => {
      for (let i = 0; i < 100; i++) {
        const at = Math.floor(rng() * (text.length + 1))
        if (rng() < 0.25 && text.length > 10) text.delete(Math.min(at, text.length - 3), 1 + Math.floor(rng() * 3))
        else text.insert(at, 'abcde'.slice(0, 1 + Math.floor(rng() * 4)))
      }
    })
    await sleep(0) // let the provider's socket breathe
  }
}

/** Wait until a fresh client sees `expected` from the server (it may still be on its way). */
const probe = async (server, room, expected) => {
  const deadline = performance.now() + 30000
  while (performance.now() < deadline) {
    const client = new BenchClient(server, room)
    await within(client.whenSynced, 30000, 'probe syncing')
    const ok = client.text.toString() === expected
    client.destroy()
    if (ok) return
    await sleep(200)
  }
  throw new Error('the server never held the prepared note')
}
