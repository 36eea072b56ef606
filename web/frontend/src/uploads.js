// Images and files pasted, dropped or picked into the editor (editors only): each is
// kept in this browser first (uploadqueue.js), shown to this person alone as a
// placeholder where it goes ("Uploading shot.png… 42%"), uploaded with
// `POST /api/notes/{edit token}/files`, and only then is the Markdown the server
// answers inserted there, in one change, for everyone. A refused file says why in a
// toast and leaves nothing in the shared text; a file added offline waits, in order,
// until the connection returns (and survives a reload meanwhile).

import { StateEffect, StateField } from '@codemirror/state'
import { Decoration, EditorView, WidgetType } from '@codemirror/view'
import * as Y from 'yjs'
import { drop, entriesOf, keep, rekey } from './uploadqueue.js'

// What editor.js's own drop handler inserts as text (a dropped .md goes in as Markdown).
const TEXT_FILE = /\.(md|markdown|mdown|txt)$/i
const isTextFile = (file) => TEXT_FILE.test(file.name) || file.type.startsWith('text/')
// A server that cannot save now (503) and names no wait is asked again after this long.
const RETRY_MS = 10000

// -- the placeholders: widgets in this person's editor only, mapped through edits -----

class Placeholder extends WidgetType {
  constructor (key, label) {
    super()
    this.key = key
    this.label = label
  }

  eq (other) { return other.key === this.key && other.label === this.label }

  toDOM () {
    const el = document.createElement('span')
    el.className = 'upload-placeholder'
    el.textContent = this.label
    return el
  }
}

const show = StateEffect.define({ map: (value, mapping) => ({ ...value, pos: mapping.mapPos(value.pos) }) })
const hide = StateEffect.define()

const placeholderAt = (key, label, pos) => Decoration.widget({ widget: new Placeholder(key, label), side: 1, key }).range(pos)

const placeholders = StateField.define({
  create: () => Decoration.none,
  update (set, tr) {
    set = set.map(tr.changes)
    for (const effect of tr.effects) {
      if (effect.is(hide) || effect.is(show)) {
        const key = effect.is(hide) ? effect.value : effect.value.key
        let at = null
        set.between(0, tr.state.doc.length, (from, _to, deco) => { if (deco.spec.key === key) at = from })
        set = set.update({ filter: (_from, _to, deco) => deco.spec.key !== key })
        if (effect.is(show)) {
          const pos = Math.min(at ?? effect.value.pos, tr.state.doc.length)
          set = set.update({ add: [placeholderAt(key, effect.value.label, pos)], sort: true })
        }
      }
    }
    return set
  },
  provide: (field) => EditorView.decorations.from(field)
})

// -- sending one file -------------------------------------------------------------------

/** The server's reason for refusing an upload, in its words when it gave any. */
function reasonOf (xhr) {
  try {
    const detail = JSON.parse(xhr.responseText).detail
    if (typeof detail === 'string') return detail
  } catch {
    // not JSON: the status says it
  }
  return `the server answered ${xhr.status}`
}

/** How long the server asked to wait (Retry-After, in seconds), or RETRY_MS. */
function retryAfterMs (xhr) {
  const seconds = Number(xhr.getResponseHeader('Retry-After'))
  return seconds > 0 ? 1000 * seconds : RETRY_MS
}

/** Upload `entry` under `token`: {markdown} | {refused: reason} | {later: true, afterMs}. */
function send (token, entry, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', `/api/notes/${encodeURIComponent(token)}/files`)
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(Math.floor((100 * event.loaded) / Math.max(1, event.total)))
    }
    xhr.onload = () => {
      // A server that cannot save now, or too many uploads (429): the same file, later.
      if (xhr.status >= 500 || xhr.status === 429) resolve({ later: true, afterMs: retryAfterMs(xhr) })
      else if (xhr.status !== 201 && xhr.status !== 200) resolve({ refused: reasonOf(xhr) })
      else {
        let markdown = null
        try {
          markdown = JSON.parse(xhr.responseText).markdown
        } catch {
          // checked below
        }
        resolve(typeof markdown === 'string' ? { markdown } : { refused: 'the server gave no Markdown for it' })
      }
    }
    xhr.onerror = xhr.onabort = xhr.ontimeout = () => resolve({ later: true, afterMs: RETRY_MS }) // offline
    const form = new FormData()
    form.append('file', entry.blob, entry.name)
    xhr.send(form)
  })
}

// -- the uploader -----------------------------------------------------------------------

/**
 * Let the editor `view` (bound to `ytext`) take files: pasted, dropped, or picked with
 * `picker` ({button, input}). `token()` is the page's edit token now; `provider` is the
 * note's connection (uploads wait for it); `toast` says what went wrong.
 * Returns `{rekey(oldToken, newToken)}` for when the edit link is replaced.
 */
export function attachUploads ({ view, ytext, token, provider, toast, picker }) {
  const uploader = new Uploader(view, ytext, token, provider, toast)
  const takes = () => !view.state.readOnly
  const atCaret = () => view.state.selection.main.head
  view.dispatch({
    effects: StateEffect.appendConfig.of([
      placeholders,
      EditorView.domEventHandlers({
        paste (event) {
          const files = pastedFiles(event.clipboardData)
          if (files.length === 0 || !takes()) return false
          event.preventDefault()
          uploader.add(files, atCaret())
          return true
        },
        drop (event) {
          // editor.js takes text files; here, what it left (an image, a PDF...).
          const files = [...(event.dataTransfer?.files ?? [])].filter((file) => !isTextFile(file))
          if (files.length === 0 || !takes()) return false
          event.preventDefault()
          uploader.add(files, view.posAtCoords({ x: event.clientX, y: event.clientY }) ?? atCaret())
          return true
        }
      })
    ])
  })
  if (picker) {
    picker.button.addEventListener('click', () => picker.input.click())
    picker.input.addEventListener('change', () => {
      const files = [...picker.input.files]
      picker.input.value = ''
      if (files.length > 0 && takes()) uploader.add(files, atCaret())
    })
  }
  // Each sync (the first, and after every reconnect) uploads what waits, a previous
  // visit's files too: by then the note is here, so their places are known.
  provider.on('sync', (synced) => { if (synced) uploader.pump() })
  window.addEventListener('online', () => uploader.pump())
  return {
    rekey: (oldToken, newToken) => rekey(oldToken, newToken).then(() => uploader.pump())
  }
}

class Uploader {
  constructor (view, ytext, token, provider, toast) {
    Object.assign(this, { view, ytext, token, provider, toast })
    this.running = false
    this.again = false
    this.retry = null
  }

  online () { return navigator.onLine && this.provider.wsconnected }

  /** Keep `files` to go in at `pos`, then upload what waits. */
  async add (files, pos) {
    const at = Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(this.ytext, pos))
    const entries = files.map((file, i) => ({
      key: `${Date.now()}-${Math.random()}`,
      note: this.token(),
      name: file.name || 'file',
      blob: file,
      at,
      after: i < files.length - 1 ? '\n' : '' // several at once: one a line
    }))
    for (const entry of entries) this.showPlaceholder(entry, this.online() ? 0 : 'waiting', pos)
    for (const entry of entries) await keep(entry)
    this.pump()
  }

  /** Upload what waits, oldest first, one at a time, while the connection lasts. */
  async pump () {
    if (this.running) {
      this.again = true
      return
    }
    this.running = true
    try {
      do {
        this.again = false
        await this.exclusively(() => this.drain())
      } while (this.again)
    } finally {
      this.running = false
    }
  }

  // Two tabs of one note in this browser share the queue: one drains it at a time.
  exclusively (work) {
    return navigator.locks ? navigator.locks.request(`collab-notes-uploads/${this.token()}`, work) : work()
  }

  async drain () {
    const entries = await entriesOf(this.token())
    const shown = this.shownKeys()
    for (const entry of entries) if (!shown.has(entry.key)) this.showPlaceholder(entry, 'waiting')
    for (const entry of entries) {
      if (!this.online()) return
      const answer = await send(this.token(), entry, (percent) => this.showPlaceholder(entry, percent))
      if (answer.later) {
        // Offline after all, or a server that cannot take it now: the next sync, or this.
        this.showPlaceholder(entry, 'waiting')
        clearTimeout(this.retry)
        this.retry = setTimeout(() => this.pump(), answer.afterMs)
        return
      }
      this.settle(entry, answer)
      await drop(entry.id)
    }
  }

  /** The file is uploaded (its Markdown goes in, for everyone) or refused (a toast). */
  settle (entry, answer) {
    if (answer.markdown !== undefined) {
      this.view.dispatch({
        changes: { from: this.positionOf(entry), insert: answer.markdown + entry.after },
        effects: hide.of(entry.key),
        userEvent: 'input.paste'
      })
    } else {
      this.view.dispatch({ effects: hide.of(entry.key) })
      this.toast(`Could not upload “${entry.name}”: ${answer.refused}`)
    }
  }

  showPlaceholder (entry, state, pos = null) {
    const label = state === 'waiting' ? `Waiting to upload ${entry.name}…` : `Uploading ${entry.name}… ${state}%`
    this.view.dispatch({ effects: show.of({ key: entry.key, label, pos: pos ?? this.positionOf(entry) }) })
  }

  /** Where the entry's Markdown goes now: its place, moved by everyone's edits since. */
  positionOf (entry) {
    const where = Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(entry.at), this.ytext.doc)
    return Math.min(where?.type === this.ytext ? where.index : this.ytext.length, this.view.state.doc.length)
  }

  shownKeys () {
    const keys = new Set()
    const shown = this.view.state.field(placeholders)
    shown.between(0, this.view.state.doc.length, (_from, _to, deco) => { keys.add(deco.spec.key) })
    return keys
  }
}

/**
 * The files of a paste, or none when its text is what counts. Office programs put a
 * picture of what was copied beside its text and HTML: that paste is text. A
 * screenshot, or "Copy image" in a browser, comes with no plain text.
 */
function pastedFiles (data) {
  const files = [...(data?.files ?? [])]
  if (files.length === 0) return []
  const hasText = (data.getData('text/plain') ?? '') !== '' && (data.getData('text/html') ?? '') !== ''
  return hasText ? [] : files
}
