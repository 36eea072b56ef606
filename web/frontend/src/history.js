// The notes this browser has opened, newest first. The server never lists notes:
// holding a link is what grants access, so only the browser knows its links.

import { readJSON, writeJSON } from './store.js'

const KEY = 'collab-notes:history'
const MAX_ENTRIES = 100
const TOKEN = /^[A-Za-z0-9_-]{1,64}$/
const ROLES = ['editor', 'commenter', 'viewer']

const load = () => {
  const entries = readJSON(KEY, [])
  return Array.isArray(entries) ? entries.filter((e) => e && typeof e.token === 'string') : []
}

const save = (entries) => writeJSON(KEY, entries.slice(0, MAX_ENTRIES))

function change (token, edit) {
  const entries = load()
  const entry = entries.find((e) => e.token === token)
  if (entry) {
    edit(entry)
    save(entries)
  }
}

/**
 * Entries `{token, role, title, openedAt, deletedAt?, restorableUntil?, replaced?}`,
 * most recently opened first.
 */
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
  change(token, (entry) => { entry.title = title })
}

/** A link was replaced by a new one: keep the entry, under its new token. */
export function replaceToken (oldToken, newToken) {
  change(oldToken, (entry) => { entry.token = newToken })
}

/** Someone else replaced this link: keep the entry, marked, so it does not just vanish. */
export function markReplaced (token) {
  change(token, (entry) => { entry.replaced = true })
}

/** The note was deleted; it can be restored until `restorableUntil` (ms since 1970). */
export function markDeleted (token, restorableUntil) {
  change(token, (entry) => {
    entry.deletedAt = entry.deletedAt ?? Date.now()
    entry.restorableUntil = entry.restorableUntil ?? restorableUntil
  })
}

export function markRestored (token) {
  change(token, (entry) => {
    delete entry.deletedAt
    delete entry.restorableUntil
  })
}

export function forgetNote (token) {
  save(load().filter((e) => e.token !== token))
}

/** Put a forgotten entry back where it was (undo). */
export function restoreEntry (entry) {
  save([entry, ...load().filter((e) => e.token !== entry.token)])
}

/** The list as a JSON document, to move it to another device. */
export function exportNotes () {
  return JSON.stringify({ format: 'collab-notes list', version: 1, notes: load() }, null, 2)
}

function cleanEntry (raw) {
  if (!raw || typeof raw !== 'object' || !TOKEN.test(raw.token) || !ROLES.includes(raw.role)) return null
  const entry = {
    token: raw.token,
    role: raw.role,
    title: typeof raw.title === 'string' ? raw.title.slice(0, 200) : '',
    openedAt: Number.isFinite(raw.openedAt) ? raw.openedAt : 0
  }
  if (raw.replaced === true) entry.replaced = true
  if (Number.isFinite(raw.deletedAt)) entry.deletedAt = raw.deletedAt
  if (Number.isFinite(raw.restorableUntil)) entry.restorableUntil = raw.restorableUntil
  return entry
}

/**
 * Merge an exported list into this one; an entry opened more recently wins.
 * Returns how many entries were added or updated. Throws a readable error.
 */
export function importNotes (json) {
  let data
  try {
    data = JSON.parse(json)
  } catch {
    throw new Error('the file is not JSON')
  }
  const raw = Array.isArray(data) ? data : data?.notes
  if (!Array.isArray(raw)) throw new Error('the file is not a list of notes exported by collab-notes')
  const incoming = raw.map(cleanEntry).filter(Boolean)
  if (raw.length > 0 && incoming.length === 0) throw new Error('the file holds no notes this app can open')
  const entries = load()
  let changed = 0
  for (const entry of incoming) {
    const at = entries.findIndex((e) => e.token === entry.token)
    if (at < 0) entries.push(entry)
    else if ((entries[at].openedAt ?? 0) < entry.openedAt) entries[at] = entry
    else continue
    changed += 1
  }
  save(entries.sort((a, b) => (b.openedAt ?? 0) - (a.openedAt ?? 0)))
  return changed
}
