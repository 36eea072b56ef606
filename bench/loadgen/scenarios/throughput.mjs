// Throughput: one room, W writers inserting as fast as a bounded window of
// unacknowledged edits allows, and one observer counting what it applies.
//
// An edit is "in flight" from the moment its writer makes it until the observer
// has applied it; each writer keeps at most `window` edits in flight, so the
// offered load adapts to what the server (and the load generator) can carry.

import { BenchClient, connectAll } from '../client.mjs'
import { phase } from '../control.mjs'
import { newRoom, readerView } from '../servers.mjs'
import { SelfMeter, sleep, until, within } from '../stats.mjs'
import { Receiver, sameText, Writer } from './tracking.mjs'

/** @param {object} p {writers, window, warmup_s, measure_s, drain_s, max_edits} */
export const throughput = async (ctx, p) => {
  const room = await newRoom(ctx.server)
  // The observer opens the room, then the writers join. On a two-process server the
  // observer is on the second process, so every edit it counts crossed between them.
  const observer = new BenchClient(readerView(ctx.server), room)
  await within(observer.whenSynced, 30000, 'opening the room')
  const clients = connectAll(ctx.server, room, p.writers)
  await within(Promise.all(clients.map((c) => c.whenSynced)), 30000, 'writers syncing')

  const writers = new Map(clients.map((c) => [c.doc.clientID, new Writer(c, p.max_edits)]))
  const applied = new Map([...writers.keys()].map((id) => [id, 0]))
  const observed = new Receiver(observer, writers, () => {})
  observer.doc.on('afterTransaction', (tr) => {
    if (tr.local) return
    for (const id of writers.keys()) applied.set(id, tr.afterState.get(id) ?? 0)
    wake()
  })
  const receivers = [observed, ...clients.map((c) => new Receiver(c, writers, () => {}))]

  let running = true
  let woken = false
  const pump = () => {
    woken = false
    for (const writer of writers.values()) {
      while (running && writer.sent - applied.get(writer.id) < p.window) {
        if (!writer.edit(false)) break
      }
    }
  }
  const wake = () => {
    if (!woken) { woken = true; setImmediate(pump) }
  }
  const ticker = setInterval(wake, 50)
  pump()

  await sleep(p.warmup_s * 1000)
  const meter = new SelfMeter()
  await phase(ctx.handshake, 'measure-start')
  meter.start()
  const before = observed.seen
  const t0 = performance.now()
  await sleep(p.measure_s * 1000)
  const count = observed.seen - before
  const seconds = (performance.now() - t0) / 1000
  running = false
  clearInterval(ticker)
  const self = meter.stop()
  await phase(ctx.handshake, 'measure-end')

  const sent = [...writers.values()].reduce((n, w) => n + w.sent, 0)
  const drained = await until(() => receivers.every((r) => r.seen >= r.expected()), p.drain_s * 1000)
  return {
    edits_per_s: Math.round(count / seconds),
    edits_sent: sent,
    lost_edits: receivers.reduce((n, r) => n + Math.max(0, r.expected() - r.seen), 0),
    drained,
    converged: drained && sameText([...clients, observer]),
    reconnects: [...clients, observer].reduce((n, c) => n + c.reconnects, 0),
    loadgen: self
  }
}
