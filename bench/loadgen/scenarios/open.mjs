// Open one existing note: the time from creating the provider (it connects at
// once) to its first sync, with the whole text there.

import { BenchClient } from '../client.mjs'
import { within } from '../stats.mjs'

/** @param {object} p {room, expect_chars, timeout_s} */
export const open = async (ctx, p) => {
  const t0 = performance.now()
  const client = new BenchClient(ctx.server, p.room)
  await within(client.whenSynced, p.timeout_s * 1000, 'opening the note')
  const ms = client.syncedAt - t0
  return { synced_ms: Math.round(ms * 10) / 10, chars: client.text.length, complete: client.text.length === p.expect_chars }
}
