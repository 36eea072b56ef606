// Fan-out latency: R rooms x C clients; W writers per room type at a fixed rate,
// every other client of the room times each edit's arrival.

import { BenchClient, populate } from '../client.mjs'
import { phase } from '../control.mjs'
import { newRooms } from '../servers.mjs'
import { SelfMeter, sleep, summarize, until, within } from '../stats.mjs'
import { seeded } from '../text.mjs'
import { Receiver, sameText, Writer } from './tracking.mjs'

/**
 * @param {object} ctx {server, handshake}
 * @param {object} p {rooms, clients, writers, rate, warmup_s, measure_s, drain_s, seed}
 */
export const fanout = async (ctx, p) => {
  const rng = seeded(p.seed)
  const names = await newRooms(ctx.server, p.rooms)
  const groups = await populate(ctx.server, names, p.clients)
  const everyone = groups.flat()

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
      const text = writer.client.text
      writer.edit(Math.floor(rng() * (text.length + 1)), clock.measuring)
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
  const drained = await until(() => receivers.every((r) => r.seen >= r.expected()), p.drain_s * 1000)
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
