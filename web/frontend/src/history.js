// The notes this browser has opened, newest first. The server never lists notes:
// holding a link is what grants access, so only the browser knows its links.

import { readJSON, writeJSON } from './store.js'

const KEY = 'collab-notes:history'
const MAX_ENTRIES = 100

const load = () => {
  const entries = readJSON(KEY, [])
  return Array.isArray(entries) ? entries.filter((e) => e && typeof e.token === 'string') : []
}

const save = (entries) => writeJSON(KEY, entries.slice(0, MAX_ENTRIES))

/** Entries `{token, role, title, openedAt}`, most recently opened first. */
export function listNotes () {
  return load().sort((a, b) => (b.openedAt ?? 0) - (a.openedAt ?? 0))
}

/** Record that a note was opened now (moves it to the top). */
export function rememberNote ({ token, role, title }) {
  const entries = load().filter((e) => e.token !== token)
  entries.unshift({ token, role, title: title ?? '', openedAt: Date.now() })
  save(entries)
}

export function retitleNote (token, title) {
  const entries = load()
  const entry = entries.find((e) => e.token === token)
  if (entry && entry.title !== title) {
    entry.title = title
    save(entries)
  }
}

/** A link was replaced by a new one: keep the entry, under its new token. */
export function replaceToken (oldToken, newToken) {
  const entries = load()
  for (const entry of entries) {
    if (entry.token === oldToken) entry.token = newToken
  }
  save(entries)
}

export function forgetNote (token) {
  save(load().filter((e) => e.token !== token))
}
