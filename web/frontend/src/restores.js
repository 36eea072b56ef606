// Restoring a version, undoing a restore, and the notice everyone connected gets.
//
// The server restores, inside the note's room: it records a "before restore"
// version, applies the smallest edits from the current text to the version's as
// one transaction (leaving whole what someone is typing at that moment), commits,
// then sends it to everyone connected (this page included). So nothing here
// touches the document: the text changes when the edit arrives, for everyone at once.
//
// Undo restore asks the server to invert the restore's own change
// (`.../versions/{before-restore id}/undo`): what anyone wrote since stays.
//
// Notices: collab-notes' opt-in extension of the y-websocket protocol, message type 101:
//   client -> server  [101][0]          "tell me what others do to the note"
//   server -> client  [101][1][string]  a JSON notice: {kind: "restored" | "undone", by, ...}
// A stock y-websocket client never asks, so it never receives one.

import * as decoding from 'lib0/decoding'
import { problemOf } from './problems.js'

export const MESSAGE_NOTICE = 101
const NOTICE_SUBSCRIBE = 0
const NOTICE = 1

export const versionsUrl = (token, path = '') => `/api/notes/${token}/versions${path}`

async function post (url, author) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ author })
  })
  if (!response.ok) throw new Error(await problemOf(response))
  return response.json()
}

/**
 * Restore version `id` of the note; `author` is who the history says did it.
 * Resolves to `{note, undo}`: `undo` is the "before restore" version.
 */
export function restoreVersion (token, id, author) {
  return post(versionsUrl(token, `/${encodeURIComponent(id)}/restore`), author)
}

/** Undo the restore that followed before-restore version `id`; resolves to the note. */
export function undoRestore (token, id, author) {
  return post(versionsUrl(token, `/${encodeURIComponent(id)}/undo`), author)
}

const WHEN = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

/** "the version of 27 Nov 2025, 14:02", or "“Before the review”" for a named one. */
export function versionLabel (version) {
  if (version.name) return `“${version.name}”`
  return `the version of ${WHEN.format(new Date(version.created_at))}`
}

/** The version a restore brought back, from a before-restore version's `restore`. */
export function restoredLabel (restore) {
  return versionLabel({ name: restore.version_name, created_at: restore.version_created_at })
}

/** Ask the server for notices on every connection; `onNotice` gets each one, parsed. */
export function listenForNotices (provider, onNotice) {
  provider.messageHandlers[MESSAGE_NOTICE] = (_encoder, decoder) => {
    if (decoding.readVarUint(decoder) !== NOTICE) return
    try {
      onNotice(JSON.parse(decoding.readVarString(decoder)))
    } catch (problem) {
      console.warn('collab-notes: ignoring a notice that does not parse:', problem)
    }
  }
  provider.on('status', ({ status }) => {
    if (status === 'connected') provider.ws?.send(Uint8Array.of(MESSAGE_NOTICE, NOTICE_SUBSCRIBE))
  })
}

/**
 * The notice of a restore, on every page with the edit link: who restored what, and
 * Undo restore.
 *
 * @param {HTMLElement} notice `#restore-notice`
 * @param {object} options
 * @param {() => string} options.token the note's edit token (it may be replaced)
 * @param {() => string} options.author this visitor's name
 * @returns {{show: (restored: {version: object, undo: object, by?: string}) => void,
 *   heard: (notice: object) => void}}
 */
export function attachRestoreNotice (notice, { token, author }) {
  const text = notice.querySelector('.restore-text')
  const undo = notice.querySelector('[data-undo-restore]')
  const dismiss = notice.querySelector('[data-dismiss]')
  let undoVersion = null // the before-restore version Undo restore would undo
  const settled = new Set() // ids of before-restore versions shown or undone here

  const say = (message) => { text.textContent = message }
  const undone = (by, keptInside) => {
    undoVersion = null
    undo.hidden = true
    const kept = keptInside ? ' Words written inside the restored text since were kept.' : ''
    say(`${by} undid the restore: the text it replaced is back, and everything written since is kept.${kept}`)
  }
  dismiss.addEventListener('click', () => { notice.hidden = true })
  undo.addEventListener('click', async () => {
    if (undoVersion === null) return
    undo.disabled = true
    const id = undoVersion.id
    try {
      const note = await undoRestore(token(), id, author())
      settled.add(`undone ${id}`)
      undone('You', note.kept_inside) // (its notice may have said so already)
      dismiss.focus()
    } catch (problem) {
      say(`Could not undo the restore: ${problem.message}`)
    } finally {
      undo.disabled = false
    }
  })
  const show = ({ version, undo: before, by }) => {
    if (settled.has(before.id)) return // this page's own restore, heard again
    settled.add(before.id)
    undoVersion = before
    say(by === undefined
      ? `Restored ${versionLabel(version)}. Everyone editing now sees it.`
      : `${by} restored ${versionLabel(version)}.`)
    undo.hidden = false
    notice.hidden = false
  }
  return {
    show (restored) {
      show(restored)
      undo.focus()
    },
    heard (message) {
      const mine = message.by === author()
      if (message.kind === 'restored') show(mine ? { ...message, by: undefined } : message)
      if (message.kind !== 'undone' || settled.has(`undone ${message.undo.id}`)) return
      settled.add(`undone ${message.undo.id}`)
      undone(mine ? 'You' : message.by, message.kept_inside)
      notice.hidden = false
    }
  }
}

/** What a page with the view link says of a notice, in a toast. */
export function describeNotice (message) {
  if (message.kind === 'restored') return `${message.by} restored ${versionLabel(message.version)}.`
  if (message.kind === 'undone') return `${message.by} undid a restore; everything written since is kept.`
  return null
}
