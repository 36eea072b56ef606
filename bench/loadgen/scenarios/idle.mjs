// Idle connections: many clients, each with a presence (awareness) state that
// its provider renews every 15 s, and nothing else. The orchestrator reads the
// server's memory before and after they connect, and its CPU while they idle.

import { populate } from '../client.mjs'
import { phase } from '../control.mjs'
import { newRooms } from '../servers.mjs'
import { SelfMeter, sleep } from '../stats.mjs'

/** @param {object} p {rooms, per_room, batch, settle_s, idle_s} */
export const idle = async (ctx, p) => {
  const rooms = await newRooms(ctx.server, p.rooms)
  await phase(ctx.handshake, 'baseline')
  const clients = []
  const perBatch = Math.max(1, Math.floor(p.batch / p.per_room))
  for (let i = 0; i < rooms.length; i += perBatch) {
    const batch = rooms.slice(i, i + perBatch)
    const user = { name: `user ${i}`, color: '#3366cc' }
    clients.push(...(await populate(ctx.server, batch, p.per_room, { user })).flat())
  }
  await phase(ctx.handshake, 'connected', { connections: clients.length })
  await sleep(p.settle_s * 1000)

  let renewals = 0
  for (const c of clients) {
    c.awareness.on('update', (_changes, origin) => { if (origin !== 'local') renewals++ })
  }
  const reconnectsBefore = clients.reduce((n, c) => n + c.reconnects, 0)
  const meter = new SelfMeter()
  await phase(ctx.handshake, 'measure-start')
  meter.start()
  await sleep(p.idle_s * 1000)
  const self = meter.stop()
  await phase(ctx.handshake, 'measure-end')
  return {
    connections: clients.length,
    awareness_updates_received: renewals,
    reconnects: clients.reduce((n, c) => n + c.reconnects, 0) - reconnectsBefore,
    loadgen: self
  }
}
