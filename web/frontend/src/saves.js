// "Saved" means saved on the server's disk, not merely sent.
//
// collab-notes' opt-in extension of the y-websocket protocol, message type 100:
//   client -> server  [100][0][k]  marker k
//   server -> client  [100][1][k]  every update received on this connection
//                                  before marker k is committed to disk
// A marker goes out shortly after local edits and once after every handshake; an
// ack proves that the edits counted before its marker are durable. Markers and
// acks belong to one connection: a reconnect forgets the markers in flight and
// sends a fresh one once the handshake has resent whatever the server lacked.

import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { readJSON, writeJSON } from './store.js'

export const MESSAGE_SAVE = 100
const SAVE_MARKER = 0
const SAVE_ACK = 1
const MESSAGE_SYNC = 0
const SYNC_STEP1 = 0
// Batch a burst of keystrokes into one marker; short enough that "Saved" follows a pause at once.
const MARKER_DELAY_MS = 75

export function encodeMarker (marker) {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_SAVE)
  encoding.writeVarUint(encoder, SAVE_MARKER)
  encoding.writeVarUint(encoder, marker)
  return encoding.toUint8Array(encoder)
}

/**
 * Counts this tab's edits and learns from the server's acks which of them are on disk.
 *
 * `state()` is one of: `saved` (every local edit is covered by an ack, and the
 * content restored from this device has been confirmed once), `saving` (connected,
 * waiting for an ack), `waiting` (not connected, `pending` edits held locally),
 * `unsynced` (not connected and never confirmed yet).
 */
export class SaveTracker {
  /**
   * @param {import('y-websocket').WebsocketProvider} provider
   * @param {{isLocal: (origin: any) => boolean, onChange: () => void, carried?: number}} options
   *   `carried`: edits an earlier page left waiting in this browser (an offline reload)
   */
  constructor (provider, { isLocal, onChange, carried = 0 }) {
    this.provider = provider
    this.onChange = onChange
    this.carried = carried // until the first ack: the handshake sends them with ours
    this.edits = 0 // local transactions so far
    this.savedEdits = 0 // how many of them an ack has covered
    this.confirmed = false // some marker sent after a handshake was acked
    this.inFlight = new Map() // marker -> edits it covers, on this connection
    this.nextMarker = 1
    this.markedEdits = -1 // edits covered by the last marker sent on this connection
    this.answeredStep1 = false // this connection has resent what the server lacked
    this.timer = null
    this.installHandlers()
    provider.doc.on('update', (_update, origin) => {
      if (!isLocal(origin)) return
      this.edits += 1
      this.schedule(MARKER_DELAY_MS)
      this.onChange()
    })
    provider.on('status', ({ status }) => {
      if (status !== 'connected') this.forgetConnection()
    })
    provider.on('sync', (synced) => { if (synced) this.schedule(0) })
  }

  installHandlers () {
    const handlers = this.provider.messageHandlers
    handlers[MESSAGE_SAVE] = (_encoder, decoder) => this.receive(decoder)
    const sync = handlers[MESSAGE_SYNC]
    handlers[MESSAGE_SYNC] = (encoder, decoder, provider, fromSocket, messageType) => {
      const step = decoding.peekVarUint(decoder)
      sync(encoder, decoder, provider, fromSocket, messageType)
      // The answer to the server's step 1 (our missing edits) leaves right after this
      // handler returns; a marker scheduled now follows it on the socket.
      if (fromSocket && step === SYNC_STEP1) {
        this.answeredStep1 = true
        this.schedule(0)
      }
    }
  }

  get pending () {
    return this.edits - this.savedEdits + this.carried
  }

  get handshakeDone () {
    const provider = this.provider
    return provider.wsconnected && provider.synced && this.answeredStep1
  }

  state () {
    if (this.pending === 0 && this.confirmed) return 'saved'
    if (this.provider.wsconnected) return 'saving'
    return this.pending > 0 ? 'waiting' : 'unsynced'
  }

  schedule (delayMs) {
    if (this.timer !== null) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.sendMarker()
    }, delayMs)
  }

  sendMarker () {
    const ws = this.provider.ws
    if (!this.handshakeDone || ws === null || ws.readyState !== ws.OPEN) return
    if (this.edits === this.markedEdits) return
    const marker = this.nextMarker++
    this.inFlight.set(marker, this.edits)
    this.markedEdits = this.edits
    ws.send(encodeMarker(marker))
  }

  receive (decoder) {
    const kind = decoding.readVarUint(decoder)
    const marker = decoding.readVarUint(decoder)
    const covered = this.inFlight.get(marker)
    if (kind !== SAVE_ACK || covered === undefined) {
      console.warn(`collab-notes: ignoring save message ${kind} for unknown marker ${marker}`)
      return
    }
    for (const sent of this.inFlight.keys()) {
      if (sent <= marker) this.inFlight.delete(sent)
    }
    this.savedEdits = Math.max(this.savedEdits, covered)
    this.carried = 0
    this.confirmed = true
    this.onChange()
  }

  forgetConnection () {
    clearTimeout(this.timer)
    this.timer = null
    this.inFlight.clear()
    this.markedEdits = -1
    this.answeredStep1 = false
    this.onChange()
  }
}

// How many edits each note has waiting in this browser, kept across reloads: a page
// reloaded offline knew nothing of them and said "Not synced yet" instead of the count.
const WAITING_KEY = 'collab-notes:waiting' // {token: edits}

/** The edits an earlier page of note `token` left waiting. */
export function waitingEdits (token) {
  const count = readJSON(WAITING_KEY, {})?.[token]
  return Number.isInteger(count) && count > 0 ? count : 0
}

/** Keep `count` for note `token` (0 forgets it). Call when it may have changed. */
export function keepWaitingEdits (token, count) {
  const all = readJSON(WAITING_KEY, {}) ?? {}
  if ((all[token] ?? 0) === count) return
  if (count > 0) all[token] = count
  else delete all[token]
  writeJSON(WAITING_KEY, all)
}
