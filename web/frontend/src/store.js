// localStorage that never throws: private modes and full disks only lose memory, not the page.

export function readJSON (key, fallback) {
  try {
    const raw = window.localStorage.getItem(key)
    return raw === null ? fallback : JSON.parse(raw)
  } catch {
    return fallback
  }
}

export function writeJSON (key, value) {
  try {
    window.localStorage.setItem(key, JSON.stringify(value))
  } catch {
    // Storage is full or disabled: the value lives as long as the page.
  }
}

/** The IndexedDB database that keeps an editor's copy of a note, by its edit token. */
export const localCopyName = (token) => `collab-notes/${token}`

/** The localStorage key of a note's last updates, kept beside that copy (localcopy.js). */
export const lastUpdatesKey = (token) => `collab-notes/last-updates/${token}`

/** Forget an editor's copy of a note in this browser: the database and its last updates. */
export function forgetLocalCopy (token) {
  window.indexedDB?.deleteDatabase(localCopyName(token))
  try {
    window.localStorage.removeItem(lastUpdatesKey(token))
  } catch {
    // Storage disabled: nothing was kept there.
  }
}
