// The note page: one Y.Doc, kept in IndexedDB (editors) and synced over y-websocket,
// shown in the editor and the preview, with presence, status and sharing around it.

import { IndexeddbPersistence } from 'y-indexeddb'
import * as authProtocol from 'y-protocols/auth'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { setFileToken } from './attachments.js'
import { attachAuthors } from './authors.js'
import { diagramsDrawn } from './diagrams.js'
import { createEditor } from './editor.js'
import { attachFollow } from './follow.js'
import {
  forgetNote, markDeleted, markReplaced, markRestored, rememberNote, replaceToken, retitleNote
} from './history.js'
import { cleanName, loadIdentity, rename, withLight } from './identity.js'
import { attachLayout } from './layout.js'
import { LAST_UPDATES, keepLocalCopy } from './localcopy.js'
import { attachMenu } from './menu.js'
import { keepOffline } from './offline.js'
import { attachPresence, distinctColor, guardRemoteStates, keepAlive, keepPresenceAcrossReconnects } from './presence.js'
import { attachPreview } from './preview.js'
import { problemOf } from './problems.js'
import { attachRestoreNotice, describeNotice, listenForNotices } from './restores.js'
import { attachComments, commentMarks } from './comments.js'
import { SaveTracker, keepWaitingEdits, waitingEdits } from './saves.js'
import { attachShareDialog } from './share.js'
import { createStatus } from './status.js'
import { localCopyName } from './store.js'
import { pageTitle, titleOf } from './title.js'
import { createToaster } from './toasts.js'
import { attachUploads } from './uploads.js'
import { attachHistory } from './versions.js'

// The server's close codes that mean "this link will not work again" (collab.errors.CloseCode).
const FORBIDDEN = 4403
const UNKNOWN_NOTE = 4404
const DELETED_REASON = 'this note was deleted'
const MESSAGE_AUTH = 2
const DAY_MS = 24 * 3600 * 1000
// The title follows the text, but reading a 200 KB note's text on every keystroke is waste.
const TITLE_DELAY_MS = 150
// A deleted note's page asks whether it was restored: soon at first, then less often.
const RESTORE_POLL_FIRST_MS = 2000
const RESTORE_POLL_MAX_MS = 30000

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
    this.commentToken = body.dataset.commentToken
    this.retentionDays = Number(body.dataset.retentionDays) || 7
    this.canEdit = this.role === 'editor'
    this.canComment = this.canEdit || this.role === 'commenter'
    this.rotating = false
    this.closed = false
    this.deleted = false
    this.linkDead = false
    this.everSynced = false
    this.printing = false
    this.doc = new Y.Doc()
    this.text = this.doc.getText('content')
    this.toast = createToaster($('#toasts'))
    this.status = createStatus({ connection: $('#connection'), save: $('#save-state'), announcer: $('#announcer') })
    this.persistence = this.canEdit ? keepLocalCopy(this.doc, () => this.token) : null
    this.provider = this.createProvider()
    guardRemoteStates(this.provider.awareness)
    keepPresenceAcrossReconnects(this.provider)
    keepAlive(this.provider)
    this.identity = loadIdentity()
    this.color = this.identity.color
    this.announceSelf()
    this.editor = createEditor($('#editor'), {
      ytext: this.text,
      awareness: this.provider.awareness,
      readOnly: !this.canEdit,
      styleNonce: body.dataset.styleNonce,
      onScroll: () => this.syncScroll('editor'),
      extra: commentMarks()
    })
    this.saves = this.canEdit ? this.trackSaves() : null
    this.uploads = this.canEdit ? this.attachUploads() : null
    this.attachPanels()
    this.attachReview()
    this.comments = this.attachComments()
    this.restoreNotice = this.canEdit ? this.attachHistory(body.dataset.styleNonce) : null
    listenForNotices(this.provider, (message) => this.heard(message))
    this.followTitle(body.dataset.title ?? '')
    this.setupBanner()
    this.setupActions()
    this.keepToastsBelowTitle()
    this.answerSaveShortcut()
    this.watchConnection()
    this.provider.connect()
    if (this.canEdit && this.layout.mode() !== 'read') this.editor.view.focus()
    keepOffline()
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

  // -- who I am, and who is here ----------------------------------------------------

  userState () {
    const { name, id } = this.identity
    return { name, id, ...withLight(this.color) }
  }

  announceSelf () {
    const awareness = this.provider.awareness
    awareness.setLocalStateField('user', this.userState())
    if (!this.canEdit) awareness.setLocalStateField('role', 'viewer')
    const input = $('#my-name')
    input.value = this.identity.name
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
    this.provider.awareness.setLocalStateField('user', this.userState())
  }

  /** Two people never share a colour here: whoever came later takes a free one. */
  keepColorDistinct () {
    const color = distinctColor(this.provider.awareness, this.identity.color, this.identity.id)
    if (color === this.color) return
    this.color = color
    this.provider.awareness.setLocalStateField('user', this.userState())
  }

  trackSaves () {
    const provider = this.provider
    return new SaveTracker(provider, {
      // Brought back from this browser: counted when they were made (waitingEdits).
      isLocal: (origin) => origin !== provider && origin !== LAST_UPDATES && !(origin instanceof IndexeddbPersistence),
      carried: waitingEdits(this.token),
      onChange: () => {
        this.showSaveState()
        // Kept for a reload while offline; online, only its end (0) is written.
        const pending = this.saves?.pending ?? 0
        if (!provider.wsconnected || pending === 0) keepWaitingEdits(this.token, pending)
      }
    })
  }

  showSaveState () {
    if (this.saves === null) this.status.setSave('viewing')
    else this.status.setSave(this.saves.state(), this.saves.pending)
  }

  // -- editor, preview, layout ------------------------------------------------------

  attachPanels () {
    attachPresence({
      awareness: this.provider.awareness,
      provider: this.provider,
      list: $('#presence'),
      countLabel: $('#presence-count'),
      toast: this.toast,
      personKey: this.identity.id,
      onPeople: () => this.keepColorDistinct()
    })
    const previewPane = $('#preview')
    this.preview = attachPreview(previewPane, this.text, {
      // Not getClientRects(): it forces a layout on every render.
      isVisible: () => this.printing || this.layout?.mode() !== 'edit',
      canEdit: this.canEdit,
      onToggleTask: (offset) => this.toggleTask(offset)
    })
    previewPane.addEventListener('scroll', () => this.syncScroll('preview'), { passive: true })
    this.layout = attachLayout({
      workspace: $('#workspace'),
      buttons: document.querySelectorAll('.modes [data-mode]'),
      canEdit: this.canEdit,
      token: this.token,
      readerMode: this.canComment ? 'both' : 'read',
      onChange: () => {
        this.preview.refresh()
        this.syncScroll('editor')
      }
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

  /** Images and files pasted, dropped or picked: uploaded, then linked for everyone. */
  attachUploads () {
    return attachUploads({
      view: this.editor.view,
      ytext: this.text,
      token: () => this.token,
      provider: this.provider,
      toast: this.toast,
      picker: { button: $('[data-insert-file]'), input: $('#file-pick') }
    })
  }

  /** Authors (editors: the colours are in the editor) and following someone's caret. */
  attachReview () {
    const view = this.editor.view
    const awareness = this.provider.awareness
    if (this.canEdit) {
      attachAuthors({
        button: $('#authors-toggle'),
        legend: $('#authors-legend'),
        view,
        ytext: this.text,
        awareness,
        token: () => this.token,
        myName: () => this.identity.name
      })
    }
    attachFollow({
      list: $('#presence'),
      indicator: $('#following'),
      view,
      ytext: this.text,
      awareness,
      myKey: () => this.identity.id,
      isVisible: () => this.layout?.mode() !== 'read'
    })
  }

  /** The History view and, after a restore, the notice with Undo restore (editors only). */
  attachHistory (styleNonce) {
    const token = () => this.token
    const author = () => this.identity.name
    const notice = attachRestoreNotice($('#restore-notice'), { token, author })
    attachHistory({
      dialog: $('#history-dialog'),
      opener: $('#history-open'),
      token,
      author,
      currentText: () => this.text.toString(),
      styleNonce,
      onRestored: (restored) => notice.show(restored)
    })
    return notice
  }

  /** Someone restored a version or undid a restore: everyone is told at once. */
  heard (message) {
    if (this.comments.heard(message)) return
    if (this.restoreNotice !== null) {
      this.restoreNotice.heard(message)
      return
    }
    const said = describeNotice(message)
    if (said !== null) this.toast(said)
  }

  /** The comments panel; its threads load once the text is synced (and on each re-sync). */
  attachComments () {
    const comments = attachComments({
      token: () => this.token,
      canComment: this.canComment,
      canEdit: this.canEdit,
      doc: this.doc,
      ytext: this.text,
      editor: this.editor,
      panel: $('#comments'),
      opener: document.querySelector('#comment-add'),
      toggle: $('#comments-open'),
      author: () => this.identity.name,
      toast: this.toast
    })
    this.provider.on('sync', (synced) => { if (synced) comments.load() })
    if (this.canComment) {
      document.addEventListener('keydown', (event) => {
        if (event.key.toLowerCase() === 'm' && event.altKey && (event.ctrlKey || event.metaKey)) {
          event.preventDefault()
          comments.start()
        }
      })
    }
    return comments
  }

  /** Tick or untick a task-list box: the `[ ]` / `[x]` in the text is what changes. */
  toggleTask (offset) {
    if (this.linkDead) return
    const now = this.text.toString()[offset]
    if (now !== ' ' && now !== 'x' && now !== 'X') return
    this.doc.transact(() => {
      this.text.delete(offset, 1)
      this.text.insert(offset, now === ' ' ? 'x' : ' ')
    })
  }

  /** In Both, the pane not being scrolled follows the one that is. */
  syncScroll (from) {
    if (this.layout?.mode() !== 'both') return
    const pane = $('#preview')
    if (from === 'editor') {
      // CodeMirror scrolls a few times as it measures the lines we sent it to.
      if (performance.now() < this.editorFollowsUntil) return
      this.preview.scrollToLine(this.editor.lineAtTop())
      this.previewSetTo = pane.scrollTop
    } else {
      if (pane.scrollTop === this.previewSetTo) return // the echo of our own scrolling
      this.previewSetTo = null
      this.editorFollowsUntil = performance.now() + 250
      this.editor.scrollToLine(this.preview.lineAtTop())
    }
  }

  links () {
    if (this.canEdit) return { edit: noteUrl(this.token), view: noteUrl(this.viewToken), comment: noteUrl(this.commentToken) }
    return this.role === 'commenter'
      ? { view: noteUrl(this.viewToken), comment: noteUrl(this.token) }
      : { view: noteUrl(this.token) }
  }

  showLinks () {
    for (const link of document.querySelectorAll('[data-export]')) link.href = exportUrl(this.token) + (link.dataset.exportQuery ?? '')
    for (const link of document.querySelectorAll('[data-export-zip]')) link.href = `/api/notes/${this.token}/export.zip`
  }

  followTitle (initial) {
    let title = initial
    let timer = null
    rememberNote({ token: this.token, role: this.role, title })
    const update = () => {
      timer = null
      const next = titleOf(this.text.toString())
      if (next === title) return
      title = next
      document.title = pageTitle(title)
      $('#note-title').textContent = title || 'Untitled note'
      retitleNote(this.token, title)
    }
    this.text.observe(() => {
      if (timer === null) timer = setTimeout(update, TITLE_DELAY_MS)
    })
  }

  /** Ctrl/Cmd-S, a habit from other editors: say how saving stands, not "Save page as". */
  answerSaveShortcut () {
    window.addEventListener('keydown', (event) => {
      if (!(event.ctrlKey || event.metaKey) || event.altKey || event.key.toLowerCase() !== 's') return
      event.preventDefault()
      this.toast(this.saveAnswer())
    })
  }

  saveAnswer () {
    if (this.saves === null) return 'This link can only read the note: there is nothing to save.'
    const pending = this.saves.pending
    switch (this.saves.state()) {
      case 'saved': return 'Saved: every edit is on the server. Notes save as you type.'
      case 'saving': return 'Saving: your edits are on their way. Notes save as you type.'
      case 'waiting': return `Offline: ${pending} edit${pending === 1 ? '' : 's'} kept in this browser, sent when the connection returns.`
      default: return 'Not in touch with the server yet: your edits are kept in this browser.'
    }
  }

  /** On a phone the title bar's height varies: notices go just below it (the CSS reads it). */
  keepToastsBelowTitle () {
    const topbar = document.querySelector('.topbar')
    const place = () => {
      document.documentElement.style.setProperty('--below-title', `${Math.round(topbar.getBoundingClientRect().bottom) + 6}px`)
    }
    new ResizeObserver(place).observe(topbar)
    place()
  }

  // -- menu: print, delete ------------------------------------------------------------

  setupActions () {
    attachMenu($('#menu-open'), $('#note-menu'))
    for (const link of document.querySelectorAll('[data-export]')) {
      link.addEventListener('click', (event) => {
        if (!this.linkDead) return // the server's copy, under the link that works
        event.preventDefault() // a dead link would answer 404: the copy in memory instead
        downloadText(this.text.toString())
      })
    }
    $('[data-print]').addEventListener('click', async () => {
      this.printing = true
      this.preview.refresh()
      await diagramsDrawn() // printed drawn, not as their code (Ctrl+P cannot wait)
      window.print()
    })
    window.addEventListener('beforeprint', () => {
      this.printing = true // the preview is what is printed, even when it is not shown
      this.preview.refresh()
      // Images below the fold load only when scrolled to: a printout needs them all.
      for (const image of document.querySelectorAll('#preview img[loading="lazy"]')) image.loading = 'eager'
    })
    window.addEventListener('afterprint', () => { this.printing = false })
    const dialog = $('#delete-dialog')
    if (dialog === null) return
    const error = dialog.querySelector('.error')
    $('[data-delete]').addEventListener('click', () => {
      error.hidden = true
      dialog.querySelector('.delete-title').textContent = titleOf(this.text.toString()) || 'Untitled note'
      dialog.showModal()
      dialog.querySelector('[data-cancel]').focus()
    })
    dialog.querySelector('[data-cancel]').addEventListener('click', () => dialog.close())
    dialog.querySelector('[data-confirm]').addEventListener('click', async () => {
      try {
        await this.deleteNote()
        dialog.close()
      } catch (problem) {
        error.textContent = `Could not delete the note: ${problem.message}`
        error.hidden = false
      }
    })
  }

  async deleteNote () {
    const response = await fetch(`/api/notes/${this.token}`, { method: 'DELETE' })
    if (!response.ok) throw new Error(await problemOf(response))
    markDeleted(this.token, Date.now() + this.retentionDays * DAY_MS)
    // The server closes this page's connection with 4404, which shows the banner.
  }

  async undoDelete () {
    const response = await fetch(`/api/notes/${this.token}/undelete`, { method: 'POST' })
    if (!response.ok) throw new Error(await problemOf(response))
    this.reopen('The note is back.')
  }

  /** The note is there again (restored here or by someone else): connect, editable again. */
  reopen (message) {
    clearTimeout(this.restoreWatch)
    markRestored(this.token)
    this.deleted = false
    this.linkDead = false
    $('#banner').hidden = true
    this.closed = false
    this.editor.setReadOnly(!this.canEdit)
    this.provider.connect()
    this.showConnection()
    this.toast(message)
  }

  /**
   * While this page says the note was deleted, ask the server now and then whether it
   * still is: whoever deleted it may restore it, and nothing else would tell this page.
   */
  watchForRestore (delayMs = RESTORE_POLL_FIRST_MS) {
    clearTimeout(this.restoreWatch)
    this.restoreWatch = setTimeout(async () => {
      if (!this.deleted) return
      let back = false
      try {
        back = (await fetch(`/api/notes/${this.token}`, { cache: 'no-store' })).ok
      } catch {
        // Offline: ask again later.
      }
      if (!this.deleted) return
      if (back) this.reopen('Someone restored this note.')
      else this.watchForRestore(Math.min(RESTORE_POLL_MAX_MS, delayMs * 1.5))
    }, delayMs)
  }

  // -- connection ---------------------------------------------------------------

  connectionState () {
    const provider = this.provider
    if (this.closed) return 'closed'
    if (provider.wsconnected && provider.synced) return 'online'
    // A page opened without a connection (from the offline copy) is offline, not "connecting".
    if (!navigator.onLine || (!this.everSynced && provider.wsUnsuccessfulReconnects > 0)) return 'offline'
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
      if (synced && !this.everSynced) this.firstSynced()
      if (synced) this.everSynced = true
      this.showConnection()
    })
    provider.on('connection-close', () => this.showConnection())
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

  /** What the server has is known now: an empty note in Read opens with its editor, focused. */
  firstSynced () {
    const empty = this.text.toString().trim() === ''
    if (this.layout.showEditorIfEmpty(empty) && document.activeElement === document.body) this.editor.view.focus()
    this.showMatch()
  }

  /** Opened from a search result (#match=<word>): select the word's first occurrence. */
  showMatch () {
    const wanted = /^#match=(.+)$/.exec(location.hash)?.[1]
    if (!wanted) return
    let word
    try {
      word = decodeURIComponent(wanted)
    } catch {
      return // not ours
    }
    const text = this.text.toString()
    let at = text.indexOf(word)
    // The snippet is the note's own text, but it may have changed since: any case then.
    if (at < 0 && text.toLowerCase().length === text.length) at = text.toLowerCase().indexOf(word.toLowerCase())
    if (at < 0) return
    this.editor.select(at, at + word.length)
    this.preview.refresh()
    this.preview.scrollToLine(Math.max(0, text.slice(0, at).split('\n').length - 3))
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
    this.deleted = code === UNKNOWN_NOTE && reason === DELETED_REASON
    const linkIsDead = code === UNKNOWN_NOTE || code === FORBIDDEN
    this.linkDead = linkIsDead
    // Nothing typed under a dead link could ever be saved; other refusals may pass,
    // and edits wait for "Try again" like offline ones.
    if (linkIsDead) this.editor.setReadOnly(true)
    const [title, detail] = this.closeExplanation(code, reason)
    const banner = $('#banner')
    banner.querySelector('.banner-title').textContent = title
    banner.querySelector('.banner-detail').textContent = detail
    banner.querySelector('[data-retry]').hidden = linkIsDead
    banner.querySelector('[data-undo]').hidden = !(this.deleted && this.canEdit)
    banner.querySelector('[data-save-copy]').hidden = !this.canEdit || this.text.length === 0
    banner.hidden = false
    if (this.deleted) {
      markDeleted(this.token, Date.now() + this.retentionDays * DAY_MS)
      this.watchForRestore()
    } else if (code === FORBIDDEN) markReplaced(this.token)
    else if (code === UNKNOWN_NOTE) forgetNote(this.token)
    this.showConnection()
  }

  closeExplanation (code, reason) {
    if (this.deleted) {
      return ['This note was deleted', this.canEdit
        ? `It can be restored for ${this.retentionDays} days; after that it is gone for good.`
        : 'Whoever deleted it can restore it for a few days.']
    }
    if (code === UNKNOWN_NOTE) return ['This note does not exist', 'Check the link, or start a new note.']
    if (code === FORBIDDEN) {
      return ['This link no longer works', 'Someone replaced it with a new link. Ask them for the new one.']
    }
    return ['The server closed this note', `The server said: ${reason || code}.`]
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
    // The banner covers the top of the text: once read, it may go (the status still says why).
    banner.querySelector('[data-dismiss]').addEventListener('click', () => {
      banner.hidden = true
      this.editor.view.focus()
    })
    const undo = banner.querySelector('[data-undo]')
    undo.addEventListener('click', () => {
      undo.disabled = true
      this.undoDelete().catch((problem) => {
        banner.querySelector('.banner-detail').textContent = `Could not restore it: ${problem.message}`
      }).finally(() => { undo.disabled = false })
    })
  }

  // -- links ----------------------------------------------------------------------

  async refreshLinks () {
    const response = await fetch(`/api/notes/${this.token}`, { cache: 'no-store' })
    if (!response.ok) return
    const note = await response.json()
    if (this.canEdit && note.view_id) this.viewToken = note.view_id
    if (this.canEdit && note.comment_id) this.commentToken = note.comment_id
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
      else if (which === 'comment') this.commentToken = note.comment_id
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
    this.layout.rekey(token)
    setFileToken(token) // the preview's files, through the new link
    this.uploads.rekey(old, token)
    this.comments.rekey(old)
    this.showLinks()
    this.moveLocalCopy(token)
    keepOffline({ forget: `/n/${old}` })
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
