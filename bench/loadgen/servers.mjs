// How to open a room on each kind of server.
//
// collab-notes serves only notes it created: POST /api/notes returns the note's
// token, which is the room name. The peers open any room name on first join, so
// a room there is a fresh random name, and initial content is typed in by a
// "holder" client that stays connected (none of the peers keeps a document
// without a client unless it is configured with storage).

import { randomBytes } from 'node:crypto'

/**
 * @param {{kind: string, port: number, reader_port?: number}} spec `reader_port`: a second
 *   collab-notes process serving the same notes, which the readers of a scenario use
 */
export const describeServer = (spec) => {
  const base = `127.0.0.1:${spec.port}`
  switch (spec.kind) {
    case 'collab-notes': {
      const wsUrl = `ws://${base}/ws`
      const readerWsUrl = spec.reader_port ? `ws://127.0.0.1:${spec.reader_port}/ws` : wsUrl
      return { kind: spec.kind, protocol: 'y-websocket', wsUrl, readerWsUrl, httpUrl: `http://${base}` }
    }
    case 'y-websocket-server':
    case 'pycrdt-websocket':
      return { kind: spec.kind, protocol: 'y-websocket', wsUrl: `ws://${base}`, httpUrl: `http://${base}` }
    case 'hocuspocus':
      return { kind: spec.kind, protocol: 'hocuspocus', wsUrl: `ws://${base}`, httpUrl: `http://${base}` }
    default:
      throw new Error(`unknown server kind ${spec.kind}`)
  }
}

/**
 * The server as its readers see it: the second process of a two-process
 * collab-notes (every edit then crosses from the writers' process), else the same.
 */
export const readerView = (server) => ({ ...server, wsUrl: server.readerWsUrl ?? server.wsUrl })

/** Whether the server can create a room holding `content` without a client typing it. */
export const createsWithContent = (server) => server.kind === 'collab-notes'

/**
 * A new room's name. On collab-notes the note is created with `content`;
 * elsewhere `content` must be typed in by a client (see createsWithContent).
 */
export const newRoom = async (server, content = '') => {
  if (server.kind !== 'collab-notes') return `bench-${randomBytes(8).toString('hex')}`
  const response = await fetch(`${server.httpUrl}/api/notes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(content ? { content } : {})
  })
  if (response.status !== 201) throw new Error(`POST /api/notes answered ${response.status}`)
  return (await response.json()).id
}

/** `count` new rooms, created a few at a time. */
export const newRooms = async (server, count) => {
  const rooms = []
  while (rooms.length < count) {
    const batch = Math.min(10, count - rooms.length)
    rooms.push(...await Promise.all(Array.from({ length: batch }, () => newRoom(server))))
  }
  return rooms
}
