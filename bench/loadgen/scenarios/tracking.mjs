// Knowing, on the receiving side, which edit just arrived and when it was sent.
//
// Every edit of the benchmark inserts exactly one character, so a writer's Yjs
// clock counts its edits: edit k moves the clock from k to k + 1. A receiver
// sees, after each remote transaction, which clocks advanced; each newly
// covered clock is one delivered edit, and the writer (in this same process,
// same clock) recorded when it sent it.

export class Writer {
  /** @param {import('../client.mjs').BenchClient} client */
  constructor (client, capacity) {
    this.client = client
    this.id = client.doc.clientID
    this.sentAt = new Float64Array(capacity)
    this.counted = new Uint8Array(capacity) // 1: sent inside the measuring window
    this.sent = 0
  }

  /**
   * Type one character at the end of the note, remembering when; false when out of room.
   * (Each writer types on, like a person at their cursor: Yjs merges a run of one
   * client's characters into one item, as it does for real typing.)
   */
  edit (counted) {
    if (this.sent >= this.sentAt.length) return false
    const k = this.sent
    this.sentAt[k] = performance.now()
    this.counted[k] = counted ? 1 : 0
    const text = this.client.text
    text.insert(text.length, 'x')
    this.sent = k + 1
    return true
  }
}

export class Receiver {
  /**
   * @param {import('../client.mjs').BenchClient} client
   * @param {Map<number, Writer>} writers the writers of its room, by Yjs client id
   * @param {(latencyMs: number, counted: boolean) => void} onEdit
   */
  constructor (client, writers, onEdit) {
    this.client = client
    this.writers = writers
    this.seen = 0
    this.onEdit = onEdit
    client.doc.on('afterTransaction', (tr) => { if (!tr.local) this._arrived(tr) })
  }

  _arrived (tr) {
    const now = performance.now()
    for (const [id, after] of tr.afterState) {
      const writer = this.writers.get(id)
      if (writer === undefined || id === this.client.doc.clientID) continue
      const before = tr.beforeState.get(id) ?? 0
      for (let k = before; k < after; k++) this.onEdit(now - writer.sentAt[k], writer.counted[k] === 1)
      this.seen += after - before
    }
  }

  /** Edits this receiver should have seen by now: all but its own. */
  expected () {
    let n = 0
    for (const writer of this.writers.values()) {
      if (writer.id !== this.client.doc.clientID) n += writer.sent
    }
    return n
  }
}

/** Whether every client in a room holds the same text, the verifier's included. */
export const sameText = (clients) => {
  const first = clients[0].text.toString()
  return clients.every((c) => c.text.toString() === first)
}
