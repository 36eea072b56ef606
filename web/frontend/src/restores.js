// Restoring a version, and the notice that offers to undo it.
//
// The server restores, inside the note's room: it records a "before restore"
// version, applies the smallest edits from the current text to the version's as
// one transaction, commits, then sends it to everyone connected (this page
// included). So nothing here touches the document: the text changes when the
// edit arrives, for everyone at once, and what a collaborator typed meanwhile
// elsewhere stays where it was.

import { problemOf } from './problems.js'

export const versionsUrl = (token, path = '') => `/api/notes/${token}/versions${path}`

/**
 * Restore version `id` of the note; `author` is who the history says did it.
 * Resolves to `{note, undo}`: `undo` is the "before restore" version.
 */
export async function restoreVersion (token, id, author) {
  const response = await fetch(versionsUrl(token, `/${encodeURIComponent(id)}/restore`), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ author })
  })
  if (!response.ok) throw new Error(await problemOf(response))
  return response.json()
}

const WHEN = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

/** "the version of 27 Nov 2025, 14:02", or "“Before the review”" for a named one. */
export function versionLabel (version) {
  if (version.name) return `“${version.name}”`
  return `the version of ${WHEN.format(new Date(version.created_at))}`
}

/**
 * The notice after a restore: what was restored, and Undo restore, which
 * restores the "before restore" version the server returned.
 *
 * @param {HTMLElement} notice `#restore-notice`
 * @param {object} options
 * @param {() => string} options.token the note's edit token (it may be replaced)
 * @param {() => string} options.author this visitor's name
 * @returns {{show: (restored: {version: object, undo: object}) => void}}
 */
export function attachRestoreNotice (notice, { token, author }) {
  const text = notice.querySelector('.restore-text')
  const undo = notice.querySelector('[data-undo-restore]')
  const dismiss = notice.querySelector('[data-dismiss]')
  let undoVersion = null

  const say = (message) => { text.textContent = message }
  dismiss.addEventListener('click', () => { notice.hidden = true })
  undo.addEventListener('click', async () => {
    if (undoVersion === null) return
    undo.disabled = true
    try {
      await restoreVersion(token(), undoVersion.id, author())
      undoVersion = null
      undo.hidden = true
      say('Restore undone: the text is back as it was before it.')
      dismiss.focus()
    } catch (problem) {
      say(`Could not undo the restore: ${problem.message}`)
    } finally {
      undo.disabled = false
    }
  })
  return {
    show ({ version, undo: before }) {
      undoVersion = before
      say(`Restored ${versionLabel(version)}. Everyone editing now sees it.`)
      undo.hidden = false
      notice.hidden = false
      undo.focus()
    }
  }
}
