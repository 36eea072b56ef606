// The spaces this browser has opened, newest first (like the notes in history.js):
// a space's link is what grants access, so only the browser knows its links.

import { readJSON, writeJSON } from './store.js'

const KEY = 'collab-notes:spaces'
const MAX_ENTRIES = 100
const TOKEN = /^[A-Za-z0-9_-]{1,64}$/

const load = () => {
  const entries = readJSON(KEY, [])
  return Array.isArray(entries) ? entries.filter((e) => e && TOKEN.test(e.token ?? '')) : []
}

/** Entries `{token, role, name, openedAt}`, most recently opened first. */
export function listSpaces () {
  return load().sort((a, b) => (b.openedAt ?? 0) - (a.openedAt ?? 0))
}

/** Record that a space was opened now (moves it to the top). */
export function rememberSpace ({ token, role, name }) {
  const entries = load().filter((e) => e.token !== token)
  entries.unshift({ token, role, name: name ?? '', openedAt: Date.now() })
  writeJSON(KEY, entries.slice(0, MAX_ENTRIES))
}

export function forgetSpace (token) {
  writeJSON(KEY, load().filter((e) => e.token !== token))
}

/** The token of a pasted space link (`https://host/s/<token>`, `/s/<token>`), or null. */
export function spaceToken (pasted) {
  const text = (pasted ?? '').trim()
  const match = /(?:^|\/)s\/([A-Za-z0-9_-]{1,64})\/?(?:[?#].*)?$/.exec(text)
  return match ? match[1] : null
}
