// One simulated user: a Y.Doc and the stock provider of the server under test.
//
// Every server speaks through the provider its users would run: y-websocket's
// WebsocketProvider for collab-notes, @y/websocket-server and pycrdt-websocket;
// HocuspocusProvider for Hocuspocus. The client counts its connections, so that
// reconnects show up in the results, and knows when it first synced.

import { HocuspocusProvider } from '@hocuspocus/provider'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { within } from './stats.mjs'

// Every y-websocket provider registers an exit handler; a thousand of them are expected.
process.setMaxListeners(0)

export const TEXT = 'content'

export class BenchClient {
  /**
   * @param {{protocol: 'y-websocket'|'hocuspocus', wsUrl: string}} server
   * @param {string} room
   * @param {{user?: object}} [opts] an awareness state to announce, if any
   */
  constructor (server, room, opts = {}) {
    this.room = room
    this.doc = new Y.Doc()
    this.text = this.doc.getText(TEXT)
    this.connects = 0
    this.syncedAt = null
    this.whenSynced = new Promise((resolve) => { this._synced = resolve })
    this.provider = server.protocol === 'hocuspocus'
      ? this._hocuspocus(server, room)
      : this._yWebsocket(server, room)
    if (opts.user) this.provider.awareness.setLocalStateField('user', opts.user)
    if (server.protocol !== 'hocuspocus') this.provider.connect()
  }

  _yWebsocket (server, room) {
    const provider = new WebsocketProvider(server.wsUrl, room, this.doc, {
      WebSocketPolyfill: WebSocket,
      connect: false,
      // Node has a global BroadcastChannel: without this, clients in this one process
      // would hand each other updates directly instead of through the server.
      disableBc: true
    })
    provider.on('status', ({ status }) => { if (status === 'connected') this.connects++ })
    provider.on('sync', (synced) => { if (synced) this._onSynced() })
    return provider
  }

  _hocuspocus (server, room) {
    const provider = new HocuspocusProvider({
      url: server.wsUrl,
      name: room,
      document: this.doc,
      WebSocketPolyfill: WebSocket,
      onSynced: ({ state }) => { if (state) this._onSynced() }
    })
    // Its `status` events repeat (the socket's and the provider's, "connected" twice
    // per open), so connections are counted on the socket itself.
    provider.configuration.websocketProvider.on('open', () => { this.connects++ })
    return provider
  }

  _onSynced () {
    if (this.syncedAt !== null) return
    this.syncedAt = performance.now()
    this._synced(this.syncedAt)
  }

  /** Connections beyond the first. */
  get reconnects () {
    return Math.max(0, this.connects - 1)
  }

  get awareness () {
    return this.provider.awareness
  }

  destroy () {
    this.provider.destroy()
  }
}

/** Connect `count` clients to `room` at once. */
export const connectAll = (server, room, count, opts) =>
  Array.from({ length: count }, () => new BenchClient(server, room, opts))

/**
 * `perRoom` synced clients in each room: one client opens each room, then the
 * rest join. (Many clients racing to create one room is the join storm's
 * business; pycrdt-websocket loses some of them for 30 s when they do.)
 * @returns {Promise<BenchClient[][]>} the clients, by room
 */
export const populate = async (server, rooms, perRoom, opts = {}, timeoutMs = 30000) => {
  const first = rooms.map((room) => [new BenchClient(server, room, opts)])
  await within(Promise.all(first.map(([c]) => c.whenSynced)), timeoutMs, 'opening rooms')
  const groups = first.map((group, i) => group.concat(connectAll(server, rooms[i], perRoom - 1, opts)))
  await within(Promise.all(groups.flat().map((c) => c.whenSynced)), timeoutMs, 'clients syncing')
  return groups
}
