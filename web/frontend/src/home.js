// The home page: start a note, or go back to one this browser has opened.

import { forgetNote, listNotes } from './history.js'
import { localCopyName } from './store.js'

function entryItem (entry, onForget) {
  const item = document.createElement('li')
  item.className = 'recent-note'
  const link = document.createElement('a')
  link.href = `/n/${encodeURIComponent(entry.token)}`
  link.textContent = entry.title || 'Untitled note'
  const meta = document.createElement('span')
  meta.className = 'meta'
  const when = entry.openedAt ? new Date(entry.openedAt).toLocaleString() : ''
  meta.textContent = [entry.role === 'viewer' ? 'view only' : 'can edit', when].filter(Boolean).join(' · ')
  const forget = document.createElement('button')
  forget.type = 'button'
  forget.className = 'quiet'
  forget.textContent = 'Forget'
  forget.setAttribute('aria-label', `Forget “${link.textContent}” on this device`)
  forget.addEventListener('click', () => onForget(entry))
  item.append(link, meta, forget)
  return item
}

function renderHistory (list, empty) {
  const entries = listNotes()
  const forget = (entry) => {
    forgetNote(entry.token)
    if (entry.role === 'editor') window.indexedDB?.deleteDatabase(localCopyName(entry.token))
    renderHistory(list, empty)
    document.querySelector('#new-note').focus()
  }
  list.replaceChildren(...entries.map((entry) => entryItem(entry, forget)))
  empty.hidden = entries.length > 0
}

async function createNote (button, error) {
  button.disabled = true
  error.hidden = true
  try {
    const response = await fetch('/api/notes', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}'
    })
    if (!response.ok) throw new Error(`the server answered ${response.status}`)
    const note = await response.json()
    window.location.assign(note.url)
  } catch (problem) {
    error.textContent = `Could not create a note: ${problem.message}`
    error.hidden = false
    button.disabled = false
  }
}

export function startHome () {
  const button = document.querySelector('#new-note')
  const error = document.querySelector('#new-note-error')
  button.addEventListener('click', () => createNote(button, error))
  renderHistory(document.querySelector('#recent'), document.querySelector('#recent-empty'))
  // Another tab may open notes meanwhile; coming back to this one shows them.
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) renderHistory(document.querySelector('#recent'), document.querySelector('#recent-empty'))
  })
}
