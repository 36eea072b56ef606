// The home page: start a note, import a Markdown file as one, or go back to a note
// this browser has opened; move that list to another device as a JSON file.

import {
  exportNotes, forgetNote, importNotes, listNotes, markRestored, restoreEntry
} from './history.js'
import { startHomeSpaces } from './homespaces.js'
import { forgetOffline, keepOffline } from './offline.js'
import { homeSearch } from './search.js'
import { forgetLocalCopy } from './store.js'

// The API's limit on a new note's text (web/routes/api.py MAX_INITIAL_CONTENT_CHARS).
export const MAX_NOTE_CHARS = 2_000_000
const UNDO_MS = 8000

const $ = (selector) => document.querySelector(selector)
const formatCount = (n) => n.toLocaleString('en')

function entryItem (entry, actions) {
  const item = document.createElement('li')
  item.className = 'recent-note'
  const link = document.createElement('a')
  link.href = `/n/${encodeURIComponent(entry.token)}`
  link.textContent = entry.title || 'Untitled note'
  const meta = document.createElement('span')
  meta.className = 'meta'
  const when = entry.openedAt ? new Date(entry.openedAt).toLocaleString() : ''
  const marks = []
  if (entry.deletedAt) {
    item.classList.add('deleted')
    marks.push('deleted')
  }
  if (entry.replaced) {
    item.classList.add('replaced')
    marks.push('link replaced: ask for the new one')
  }
  meta.textContent = [...marks, ({ viewer: 'view only', commenter: 'can comment' })[entry.role] ?? 'can edit', when].filter(Boolean).join(' · ')
  const buttons = document.createElement('span')
  buttons.className = 'entry-actions'
  const restorable = entry.deletedAt && entry.role === 'editor' && (entry.restorableUntil ?? 0) > Date.now()
  if (restorable) {
    buttons.append(button('Undo delete', `Restore “${link.textContent}”`, () => actions.restore(entry)))
  }
  buttons.append(button('Forget', `Forget “${link.textContent}” on this device`, () => actions.forget(entry)))
  item.append(link, meta, buttons)
  return item
}

function button (text, label, onClick, className = 'quiet') {
  const element = document.createElement('button')
  element.type = 'button'
  element.className = className
  element.textContent = text
  if (label) element.setAttribute('aria-label', label)
  element.addEventListener('click', onClick)
  return element
}

class HomePage {
  constructor () {
    this.list = $('#recent')
    this.empty = $('#recent-empty')
    this.notice = $('#home-notice')
    this.error = $('#new-note-error')
    this.pending = new Map() // token -> timer: forgotten, local copy not yet deleted
    $('#new-note').addEventListener('click', () => this.create('', $('#new-note')))
    this.setupImport()
    this.setupListFile()
    startHomeSpaces()
    this.render()
    // Another tab may open notes meanwhile; coming back to this one shows them.
    window.addEventListener('pageshow', (event) => { if (event.persisted) this.render() })
    window.addEventListener('pagehide', () => this.flushForgotten())
    keepOffline()
  }

  render () {
    const entries = listNotes()
    const actions = { forget: (entry) => this.forget(entry), restore: (entry) => this.restore(entry) }
    this.list.replaceChildren(...entries.map((entry) => entryItem(entry, actions)))
    this.empty.hidden = entries.length > 0
  }

  say (message, undo = null) {
    const text = document.createElement('span')
    text.textContent = message
    this.notice.replaceChildren(text)
    if (undo) this.notice.append(button('Undo', null, undo, 'link-button'))
    this.notice.hidden = false
  }

  /** Forget on this device, with an Undo; the local copy goes only once Undo is gone. */
  forget (entry) {
    forgetNote(entry.token)
    this.render()
    const title = entry.title || 'Untitled note'
    const done = () => {
      this.pending.delete(entry.token)
      if (entry.role === 'editor') forgetLocalCopy(entry.token)
      forgetOffline(`/n/${entry.token}`)
    }
    this.pending.set(entry.token, { timer: setTimeout(done, UNDO_MS), done })
    this.say(`Forgot “${title}” on this device.`, () => {
      clearTimeout(this.pending.get(entry.token)?.timer)
      this.pending.delete(entry.token)
      restoreEntry(entry)
      this.render()
      this.say(`“${title}” is back in the list.`)
    })
    $('#new-note').focus()
  }

  flushForgotten () {
    for (const { timer, done } of [...this.pending.values()]) {
      clearTimeout(timer)
      done()
    }
  }

  async restore (entry) {
    const response = await fetch(`/api/notes/${entry.token}/undelete`, { method: 'POST' })
    if (response.ok) {
      markRestored(entry.token)
      this.say(`“${entry.title || 'Untitled note'}” is restored.`)
    } else {
      this.say(`Could not restore “${entry.title || 'Untitled note'}”: ${await problemOf(response)}.`)
    }
    this.render()
  }

  // -- new notes ------------------------------------------------------------------

  async create (content, trigger) {
    trigger.disabled = true
    this.error.hidden = true
    try {
      const response = await fetch('/api/notes', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(content ? { content } : {})
      })
      if (!response.ok) throw new Error(await problemOf(response))
      const note = await response.json()
      window.location.assign(note.url)
    } catch (problem) {
      this.fail(`Could not create a note: ${problem.message}`)
      trigger.disabled = false
    }
  }

  fail (message) {
    this.error.textContent = message
    this.error.hidden = false
  }

  async importFile (file, trigger) {
    if (/\.zip$/i.test(file.name)) {
      await this.importZip(file, trigger)
      return
    }
    if (!/\.(md|markdown|mdown|txt)$/i.test(file.name) && !file.type.startsWith('text/')) {
      this.fail(`“${file.name}” is not a Markdown, text or .zip file.`)
      return
    }
    const text = await file.text()
    if (text.length > MAX_NOTE_CHARS) {
      this.fail(`“${file.name}” has ${formatCount(text.length)} characters; ` +
        `a note holds at most ${formatCount(MAX_NOTE_CHARS)}. Split it into smaller notes.`)
      return
    }
    await this.create(text, trigger)
  }

  /** A note exported as a .zip (or a folder of one note and its images, zipped). */
  async importZip (file, trigger) {
    trigger.disabled = true
    this.error.hidden = true
    try {
      const response = await fetch('/api/notes/import', { method: 'POST', headers: { 'Content-Type': 'application/zip' }, body: file })
      if (!response.ok) throw new Error(await problemOf(response))
      window.location.assign((await response.json()).url)
    } catch (problem) {
      this.fail(`Could not import “${file.name}”: ${problem.message}`)
      trigger.disabled = false
    }
  }

  setupImport () {
    const input = $('#import-file')
    const trigger = $('#import-open')
    trigger.addEventListener('click', () => input.click())
    input.addEventListener('change', () => {
      const [file] = input.files
      input.value = ''
      if (file) this.importFile(file, trigger)
    })
    const zone = document.body
    const isFile = (event) => [...(event.dataTransfer?.types ?? [])].includes('Files')
    zone.addEventListener('dragover', (event) => {
      if (!isFile(event)) return
      event.preventDefault()
      zone.classList.add('dropping')
    })
    zone.addEventListener('dragleave', (event) => {
      if (event.relatedTarget === null) zone.classList.remove('dropping')
    })
    zone.addEventListener('drop', (event) => {
      if (!isFile(event)) return
      event.preventDefault()
      zone.classList.remove('dropping')
      const files = [...event.dataTransfer.files]
      if (files.length !== 1) this.fail('Drop one Markdown file at a time.')
      else this.importFile(files[0], trigger)
    })
  }

  // -- moving the list to another device ---------------------------------------------

  setupListFile () {
    $('#export-list').addEventListener('click', () => {
      const link = document.createElement('a')
      link.href = URL.createObjectURL(new Blob([exportNotes()], { type: 'application/json' }))
      link.download = 'collab-notes-list.json'
      document.body.append(link)
      link.click()
      link.remove()
      setTimeout(() => URL.revokeObjectURL(link.href), 10000)
    })
    const input = $('#import-list-file')
    $('#import-list').addEventListener('click', () => input.click())
    input.addEventListener('change', async () => {
      const [file] = input.files
      input.value = ''
      if (!file) return
      try {
        const changed = importNotes(await file.text())
        this.say(`Imported the list: ${changed} ${changed === 1 ? 'note' : 'notes'} added or updated.`)
      } catch (problem) {
        this.say(`Could not import “${file.name}”: ${problem.message}.`)
      }
      this.render()
    })
  }
}

async function problemOf (response) {
  try {
    const body = await response.json()
    if (typeof body.detail === 'string') return body.detail
    if (Array.isArray(body.problems)) return body.problems.join('; ')
  } catch {
    // not JSON: fall through to the status
  }
  return `the server answered ${response.status}`
}

export function startHome () {
  if (document.querySelector('#search')) homeSearch()
  return new HomePage()
}

/** The page of a deleted note: its edit link may restore it. */
export function startDeleted (body) {
  const restore = $('#restore')
  if (restore === null) return
  restore.addEventListener('click', async () => {
    restore.disabled = true
    const api = body.dataset.api === 'spaces' ? 'spaces' : 'notes'
    const response = await fetch(`/api/${api}/${body.dataset.token}/undelete`, { method: 'POST' })
    if (response.ok) {
      if (api === 'notes') markRestored(body.dataset.token)
      location.reload()
      return
    }
    const error = $('#restore-error')
    error.textContent = `Could not restore it: ${await problemOf(response)}.`
    error.hidden = false
    restore.disabled = false
  })
}
