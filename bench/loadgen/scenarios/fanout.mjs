// Fan-out latency: R rooms x C clients; W writers per room (1 by default) type at
// a fixed rate, and every other client of the room times each edit's arrival.
//
// All clients of all rooms connect at once, as people opening a shared note do.
// Writing starts when all are synced, or after `sync_wait_s` at the latest: a
// client a server leaves unsynced (pycrdt-websocket strands some of a crowd that
// creates a room together, until their provider's 30 s watchdog reconnects) then
// receives the edits it missed late, and that lateness is part of the latency.
// While any client was left unsynced, the drain waits up to `recover_s` after
// the connect for such late deliveries; otherwise at most `drain_s` after writing.

import { BenchClient, connectAll } from '../client.mjs'
import { phase } from '../control.mjs'
import { newRooms, readerView } from '../servers.mjs'
import { SelfMeter, sleep, summarize, until, within } from '../stats.mjs'
import { seeded } from '../text.mjs'
import { Receiver, sameText, Writer } from './tracking.mjs'

/**
 * @param {object} ctx {server, handshake}
 * @param {object} p {rooms, clients, writers, rate, sync_wait_s, warmup_s, measure_s, drain_s,
 *   recover_s, seed}
 */
export const fanout = async (ctx, p) => {
  const rng = seeded(p.seed)
  const names = await newRooms(ctx.server, p.rooms)
  const connectedAt = performance.now()
  // Writers first: on a two-process server they connect to one process, readers to the other.
  const readers = readerView(ctx.server)
  const groups = names.map((room) => [
    ...connectAll(ctx.server, room, p.writers),
    ...connectAll(readers, room, p.clients - p.writers)
  ])
  const everyone = groups.flat()
  await until(() => everyone.every((c) => c.syncedAt !== null), p.sync_wait_s * 1000)
  const unsynced = everyone.filter((c) => c.syncedAt === null).length

  const latencies = []
  let deliveredInWindow = 0
  const clock = { measuring: false, sending: true }
  const onEdit = (ms, counted) => {
    if (counted) latencies.push(ms)
    if (clock.measuring) deliveredInWindow++
  }
  const capacity = Math.ceil(p.rate * (p.warmup_s + p.measure_s) * 1.5) + 10
  const rooms = groups.map((clients) => {
    const writers = new Map()
    for (const c of clients.slice(0, p.writers)) writers.set(c.doc.clientID, new Writer(c, capacity))
    const receivers = clients.map((c) => new Receiver(c, writers, onEdit))
    return { clients, writers: [...writers.values()], receivers }
  })

  const period = 1000 / p.rate
  const start = performance.now()
  const schedule = (writer) => {
    const offset = rng() * period
    let k = 0
    const tick = () => {
      if (!clock.sending) return
      writer.edit(clock.measuring)
      k++
      setTimeout(tick, Math.max(0, start + offset + k * period - performance.now()))
    }
    setTimeout(tick, offset)
  }
  for (const room of rooms) room.writers.forEach(schedule)

  await sleep(p.warmup_s * 1000)
  const meter = new SelfMeter()
  await phase(ctx.handshake, 'measure-start')
  meter.start()
  clock.measuring = true
  const windowStart = performance.now()
  await sleep(p.measure_s * 1000)
  clock.measuring = false
  clock.sending = false
  const windowMs = performance.now() - windowStart
  const self = meter.stop()
  await phase(ctx.handshake, 'measure-end')

  const receivers = rooms.flatMap((r) => r.receivers)
  const recoverMs = unsynced > 0 ? connectedAt + p.recover_s * 1000 - performance.now() : 0
  const drainMs = Math.max(p.drain_s * 1000, recoverMs)
  const drained = await until(() => receivers.every((r) => r.seen >= r.expected()), drainMs)
  const lost = receivers.reduce((n, r) => n + Math.max(0, r.expected() - r.seen), 0)
  const converged = await verify(ctx.server, rooms)
  const sent = rooms.reduce((n, r) => n + r.writers.reduce((m, w) => m + w.sent, 0), 0)
  return {
    latency_ms: summarize(latencies),
    delivered_per_s: Math.round(deliveredInWindow / (windowMs / 1000)),
    edits_sent: sent,
    lost_edits: lost,
    drained,
    converged,
    reconnects: everyone.reduce((n, c) => n + c.reconnects, 0),
    unsynced_at_start: unsynced,
    loadgen: self
  }
}

/** Every client of a room agrees, and so does a fresh client syncing from the server. */
const verify = async (server, rooms) => {
  const agreed = rooms.every((r) => sameText(r.clients))
  const verifiers = rooms.map((r) => new BenchClient(server, r.clients[0].room))
  try {
    await within(Promise.all(verifiers.map((v) => v.whenSynced)), 15000, 'verifier syncing')
  } catch {
    return false
  }
  return agreed && rooms.every((r, i) => sameText([...r.clients, verifiers[i]]))
}
