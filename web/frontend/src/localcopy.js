// An editor's copy of a note in this browser: y-indexeddb keeps the note in
// IndexedDB, so that it reopens offline. Its writes are asynchronous, and a page
// that unloads a moment after a keystroke may lose the last of them: a reload
// right after typing offline showed "Written off" of "Written offline." (the
// count of waiting edits, kept synchronously, said 16). So this page's updates of
// the last few seconds are also written, merged, to localStorage (synchronous) when
// the page is hidden or unloads, and the next load applies them once the
// IndexedDB copy is loaded; Yjs ignores what the copy already holds.

import * as Y from 'yjs'
import { IndexeddbPersistence } from 'y-indexeddb'
import { WebsocketProvider } from 'y-websocket'
import { lastUpdatesKey as keyOf, localCopyName } from './store.js'

const AT_RISK_MS = 5000 // IndexedDB has long written what is older than this

/** The origin of the updates brought back from localStorage (not an edit of this page). */
export const LAST_UPDATES = Symbol('collab-notes last updates')

/**
 * Keep `doc` in IndexedDB under `token()` (read at each use: the edit link may be
 * replaced), with the last updates guarded as above. Returns the persistence.
 */
export function keepLocalCopy (doc, token) {
  const persistence = new IndexeddbPersistence(localCopyName(token()), doc)
  const recent = [] // [when, update], oldest first
  doc.on('update', (update, origin) => {
    // Read from the copy, or the server's (a first sync is the whole note): kept there.
    if (origin === persistence || origin instanceof WebsocketProvider) return
    const now = Date.now()
    recent.push([now, update])
    while (recent.length > 0 && recent[0][0] < now - AT_RISK_MS) recent.shift()
  })
  const guard = () => {
    const fresh = recent.filter(([when]) => when >= Date.now() - AT_RISK_MS).map(([, update]) => update)
    try {
      if (fresh.length === 0) localStorage.removeItem(keyOf(token()))
      else localStorage.setItem(keyOf(token()), toBase64(Y.mergeUpdates(fresh)))
    } catch {
      // Storage full or disabled: IndexedDB alone, as before.
    }
  }
  window.addEventListener('pagehide', guard)
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') guard()
  })
  persistence.whenSynced.then(() => {
    let kept = null
    try {
      kept = localStorage.getItem(keyOf(token()))
    } catch {
      return
    }
    if (kept !== null) Y.applyUpdate(doc, fromBase64(kept), LAST_UPDATES)
  })
  return persistence
}

function toBase64 (bytes) {
  let binary = ''
  for (let at = 0; at < bytes.length; at += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000))
  }
  return btoa(binary)
}

const fromBase64 = (text) => Uint8Array.from(atob(text), (char) => char.charCodeAt(0))
