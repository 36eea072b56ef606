// The note page: one Y.Doc, kept in IndexedDB (editors) and synced over y-websocket,
// shown in the editor and the preview, with presence, status and sharing around it.

import { IndexeddbPersistence } from 'y-indexeddb'
import * as authProtocol from 'y-protocols/auth'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { createEditor } from './editor.js'
import { forgetNote, rememberNote, replaceToken, retitleNote } from './history.js'
import { cleanName, loadIdentity, rename } from './identity.js'
import { attachLayout } from './layout.js'
import { attachPresence, guardRemoteStates, keepPresenceAcrossReconnects } from './presence.js'
import { attachPreview } from './preview.js'
import { SaveTracker } from './saves.js'
import { attachShareDialog } from './share.js'
import { createStatus } from './status.js'
import { localCopyName } from './store.js'
import { pageTitle, titleOf } from './title.js'
import { createToaster } from './toasts.js'

// The server's close codes that mean "this link will not work again" (collab.errors.CloseCode).
const FORBIDDEN = 4403
const UNKNOWN_NOTE = 4404
const MESSAGE_AUTH = 2

const $ = (selector) => document.querySelector(selector)
const socketBase = () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`
const noteUrl = (token) => `${location.origin}/n/${token}`
const exportUrl = (token) => `/api/notes/${token}/export.md`
const tokenOfSocket = (socketUrl) => new URL(socketUrl).pathname.split('/').pop()
const isPermanentClose = (code) => code >= 4400 && code < 4500

export function startNote (body) {
  return new NotePage(body)
}

class NotePage {
  constructor (body) {
    this.role = body.dataset.role
    this.token = body.dataset.token
    this.viewToken = body.dataset.viewToken
    this.canEdit = this.role === 'editor'
    this.rotating = false
    this.closed = false
    this.everSynced = false
    this.doc = new Y.Doc()
    this.text = this.doc.getText('content')
    this.toast = createToaster($('#toasts'))
    this.status = createStatus({ connection: $('#connection'), save: $('#save-state') })
    this.persistence = this.canEdit ? new IndexeddbPersistence(localCopyName(this.token), this.doc) : null
    this.provider = this.createProvider()
    guardRemoteStates(this.provider.awareness)
    keepPresenceAcrossReconnects(this.provider)
    this.identity = loadIdentity()
    this.announceSelf()
    this.editor = createEditor($('#editor'), {
      ytext: this.text,
      awareness: this.provider.awareness,
      readOnly: !this.canEdit,
      styleNonce: body.dataset.styleNonce
    })
    this.saves = this.canEdit ? this.trackSaves() : null
    this.attachPanels()
    this.followTitle(body.dataset.title ?? '')
    this.setupBanner()
    this.watchConnection()
    this.provider.connect()
  }

  createProvider () {
    const provider = new WebsocketProvider(socketBase(), this.token, this.doc, {
      connect: false,
      disableBc: true, // tabs meet on the server, so "Saved" always means the server has it
      // After a link is replaced, the server closes sockets opened with the old one:
      // that close is our cue to reconnect with the new token, not to give up.
      shouldReconnect: (event) =>
        tokenOfSocket(event.target.url) !== provider.roomname || !isPermanentClose(event.code)
    })
    provider.messageHandlers[MESSAGE_AUTH] = (_encoder, decoder) => {
      authProtocol.readAuthMessage(decoder, this.doc, (_doc, reason) => {
        this.toast(`The server refused an edit: ${reason}`)
      })
    }
    return provider
  }

  announceSelf () {
    const { name, color, colorLight } = this.identity
    const awareness = this.provider.awareness
    awareness.setLocalStateField('user', { name, color, colorLight })
    if (!this.canEdit) awareness.setLocalStateField('role', 'viewer')
    const input = $('#my-name')
    input.value = name
    let timer = null
    input.addEventListener('input', () => {
      clearTimeout(timer)
      timer = setTimeout(() => this.setName(input.value), 250)
    })
    input.addEventListener('change', () => {
      this.setName(input.value)
      input.value = this.identity.name
    })
  }

  setName (name) {
    if (cleanName(name) === '' || cleanName(name) === this.identity.name) return
    this.identity = rename(this.identity, name)
    const { color, colorLight } = this.identity
    this.provider.awareness.setLocalStateField('user', { name: this.identity.name, color, colorLight })
  }

  trackSaves () {
    const provider = this.provider
    return new SaveTracker(provider, {
      isLocal: (origin) => origin !== provider && !(origin instanceof IndexeddbPersistence),
      onChange: () => this.showSaveState()
    })
  }

  showSaveState () {
    if (this.saves === null) this.status.setSave('viewing')
    else this.status.setSave(this.saves.state(), this.saves.pending)
  }

  attachPanels () {
    attachPresence({
      awareness: this.provider.awareness,
      provider: this.provider,
      list: $('#presence'),
      countLabel: $('#presence-count'),
      toast: this.toast
    })
    const previewPane = $('#preview')
    const refreshPreview = attachPreview(previewPane, this.text,
      () => previewPane.getClientRects().length > 0)
    attachLayout({
      workspace: $('#workspace'),
      toggle: $('#preview-toggle'),
      tabs: document.querySelectorAll('#workspace-tabs [data-tab]'),
      defaultTab: this.canEdit ? 'write' : 'preview',
      onChange: refreshPreview
    })
    attachShareDialog({
      dialog: $('#share-dialog'),
      opener: $('#share-open'),
      links: () => this.links(),
      refresh: () => this.refreshLinks(),
      rotate: (which) => this.rotate(which)
    })
    this.showLinks()
  }

  links () {
    return this.canEdit
      ? { edit: noteUrl(this.token), view: noteUrl(this.viewToken) }
      : { view: noteUrl(this.token) }
  }

  showLinks () {
    for (const link of document.querySelectorAll('[data-export]')) link.href = exportUrl(this.token)
  }

  followTitle (initial) {
    let title = initial
    rememberNote({ token: this.token, role: this.role, title })
    this.text.observe(() => {
      const next = titleOf(this.text.toString())
      if (next === title) return
      title = next
      document.title = pageTitle(title)
      $('#note-title').textContent = title || 'Untitled note'
      retitleNote(this.token, title)
    })
  }

  // -- connection ---------------------------------------------------------------

  connectionState () {
    const provider = this.provider
    if (this.closed) return 'closed'
    if (provider.wsconnected && provider.synced) return 'online'
    if (!navigator.onLine) return 'offline'
    return this.everSynced ? 'reconnecting' : 'connecting'
  }

  showConnection () {
    this.status.setConnection(this.connectionState())
    this.showSaveState()
  }

  watchConnection () {
    const provider = this.provider
    provider.on('status', () => this.showConnection())
    provider.on('sync', (synced) => {
      if (synced) this.everSynced = true
      this.showConnection()
    })
    provider.on('closed', ({ code, reason }) => this.onClosed(code, reason))
    window.addEventListener('offline', () => {
      // A socket can look open while nothing gets through (a dead Wi-Fi, a closed lid):
      // drop it, so edits show as waiting and the next connection starts clean.
      this.reconnectNow()
      this.showConnection()
    })
    window.addEventListener('online', () => {
      if (!provider.wsconnected) this.reconnectNow() // skip the rest of the back-off
      this.showConnection()
    })
    this.showConnection()
  }

  reconnectNow () {
    const provider = this.provider
    if (!provider.shouldConnect) return // closed for good, or in the middle of a rotation
    provider.disconnect()
    provider.connect()
  }

  onClosed (code, reason) {
    if (this.rotating && code === FORBIDDEN) return // our own rotation; rotate() reconnects
    this.closed = true
    const linkIsDead = code === UNKNOWN_NOTE || code === FORBIDDEN
    // Nothing typed under a dead link could ever be saved; other refusals may pass,
    // and edits wait for "Try again" like offline ones.
    if (linkIsDead) this.editor.setReadOnly(true)
    const banner = $('#banner')
    banner.querySelector('.banner-title').textContent =
      code === UNKNOWN_NOTE ? 'This note does not exist'
        : code === FORBIDDEN ? 'This link no longer works' : 'The server closed this note'
    banner.querySelector('.banner-detail').textContent =
      code === UNKNOWN_NOTE ? 'Check the link, or start a new note.'
        : code === FORBIDDEN ? 'Someone replaced it with a new link. Ask them for the new one.'
          : `The server said: ${reason || code}.`
    banner.querySelector('[data-retry]').hidden = linkIsDead
    banner.querySelector('[data-save-copy]').hidden = !this.canEdit || this.text.length === 0
    banner.hidden = false
    if (linkIsDead) forgetNote(this.token)
    this.showConnection()
  }

  setupBanner () {
    const banner = $('#banner')
    banner.querySelector('[data-save-copy]').addEventListener('click', () => {
      downloadText(this.text.toString())
    })
    // For refusals that may pass (a full note, too many connections): try again by hand.
    banner.querySelector('[data-retry]').addEventListener('click', () => {
      banner.hidden = true
      this.closed = false
      this.provider.connect()
      this.showConnection()
    })
  }

  // -- links ----------------------------------------------------------------------

  async refreshLinks () {
    const response = await fetch(`/api/notes/${this.token}`, { cache: 'no-store' })
    if (!response.ok) return
    const note = await response.json()
    if (this.canEdit && note.view_id) this.viewToken = note.view_id
  }

  async rotate (which) {
    this.rotating = which === 'edit'
    try {
      const response = await fetch(`/api/notes/${this.token}/rotate`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ which })
      })
      if (!response.ok) throw new Error(await problemOf(response))
      const note = await response.json()
      if (which === 'view') this.viewToken = note.view_id
      else this.switchToken(note.id)
    } finally {
      this.rotating = false
    }
  }

  /** The edit link was replaced: carry on under the new token. */
  switchToken (token) {
    const old = this.token
    this.token = token
    history.replaceState(null, '', `/n/${token}`)
    replaceToken(old, token)
    this.showLinks()
    this.moveLocalCopy(token)
    const provider = this.provider
    provider.roomname = token
    const ws = provider.ws
    if (ws !== null) ws.close(1000, 'link replaced') // reconnects: its token is stale now
    else if (!provider.shouldConnect) provider.connect()
  }

  moveLocalCopy (token) {
    const old = this.persistence
    this.persistence = new IndexeddbPersistence(localCopyName(token), this.doc)
    this.persistence.whenSynced.then(() => old.clearData())
  }
}

async function problemOf (response) {
  try {
    const body = await response.json()
    if (typeof body.detail === 'string') return body.detail
  } catch {
    // not JSON: fall through to the status
  }
  return `the server answered ${response.status}`
}

/** Offer `text` as a Markdown file, from memory: for when the server will not take it. */
function downloadText (text) {
  const link = document.createElement('a')
  link.href = URL.createObjectURL(new Blob([text], { type: 'text/markdown;charset=utf-8' }))
  link.download = `${titleOf(text) || 'note'}.md`.replace(/[\\/:*?"<>|]+/g, ' ')
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(link.href), 10000)
}
