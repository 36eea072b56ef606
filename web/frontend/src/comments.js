// Comments on the text: threads anchored to ranges (Yjs relative positions the server
// made), marked in the editor, listed in a side panel, and kept live by the server's
// notices ({kind: "comment", thread} / {kind: "comment-deleted", id}).
//
// A thread's range is where Yjs resolves its two ends in this page's document now; a
// range whose ends meet is "on removed text" and is shown with the words it was on.

import { StateEffect, StateField } from '@codemirror/state'
import { Decoration, EditorView } from '@codemirror/view'
import * as Y from 'yjs'
import { ownControls } from './owncomment.js'

const KEY_STORE = 'collab-notes:comment-key'
const OWN_STORE = 'collab-notes:own-comments'

const setMarks = StateEffect.define()
const marksField = StateField.define({
  create: () => Decoration.none,
  update (marks, tr) {
    marks = marks.map(tr.changes)
    for (const effect of tr.effects) if (effect.is(setMarks)) marks = effect.value
    return marks
  },
  provide: (field) => EditorView.decorations.from(field)
})

/** The editor extension that draws the comment marks. */
export const commentMarks = () => [marksField]

const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
const toBase64 = (bytes) => btoa(Array.from(bytes, (byte) => String.fromCharCode(byte)).join(''))

/** The browser's own key for its comments: made once, kept in localStorage. */
function commentKey () {
  let key = localStorage.getItem(KEY_STORE)
  if (!key) {
    const bytes = crypto.getRandomValues(new Uint8Array(24))
    key = btoa(String.fromCharCode(...bytes)).replace(/[+/=]/g, (c) => ({ '+': '-', '/': '_', '=': '' })[c])
    localStorage.setItem(KEY_STORE, key)
  }
  return key
}

const ownComments = () => new Set(JSON.parse(localStorage.getItem(OWN_STORE) ?? '[]'))
function rememberOwn (id) {
  const own = [...ownComments(), id].slice(-500)
  localStorage.setItem(OWN_STORE, JSON.stringify(own))
}

function element (tag, className, text) {
  const made = document.createElement(tag)
  if (className) made.className = className
  if (text !== undefined) made.textContent = text
  return made
}

/**
 * @param {object} o
 * @param {() => string} o.token this page's link (an edit link may be replaced meanwhile)
 * @param {boolean} o.canComment the edit or comment link
 * @param {boolean} o.canEdit the edit link (deletes any thread)
 * @param {Y.Doc} o.doc
 * @param {Y.Text} o.ytext
 * @param {{view: EditorView, select: Function}} o.editor
 * @param {HTMLElement} o.panel `#comments`
 * @param {HTMLElement|null} o.opener the "Comment" button
 * @param {HTMLElement} o.toggle the button that shows the panel
 * @param {() => string} o.author
 * @param {(text: string) => void} o.toast
 */
export function attachComments (o) {
  const threads = new Map()
  let chosen = null
  const api = () => `/api/notes/${o.token()}/comments`
  const list = o.panel.querySelector('[data-threads]')
  const form = o.panel.querySelector('[data-new]')

  const rangeOf = (thread) => {
    const at = (end) => Y.createAbsolutePositionFromRelativePosition(
      Y.decodeRelativePosition(fromBase64(thread.anchor[end])), o.doc)?.index ?? null
    const from = at('start')
    const to = at('end')
    if (from === null || to === null || to <= from) return { from: from ?? 0, to: from ?? 0, removed: true }
    return { from, to, removed: false }
  }

  const redrawMarks = () => {
    const length = o.editor.view.state.doc.length
    const marks = []
    for (const thread of threads.values()) {
      if (thread.resolved && thread.id !== chosen) continue
      const { from, to, removed } = rangeOf(thread)
      if (removed || to > length) continue
      const className = thread.id === chosen ? 'cm-comment cm-comment-chosen' : 'cm-comment'
      marks.push(Decoration.mark({ class: className, attributes: { 'data-thread': String(thread.id) } }).range(from, to))
    }
    marks.sort((a, b) => a.from - b.from || a.to - b.to)
    o.editor.view.dispatch({ effects: setMarks.of(Decoration.set(marks)) })
  }

  let pending = false
  const later = () => {
    if (pending) return
    pending = true
    setTimeout(() => { pending = false; redrawMarks(); refreshRemoved() }, 0) // after the editor has the change
  }
  o.ytext.observe(later)

  const refreshRemoved = () => {
    for (const card of list.querySelectorAll('[data-thread]')) {
      const thread = threads.get(Number(card.dataset.thread))
      if (thread) card.querySelector('.thread-removed').hidden = !rangeOf(thread).removed
    }
  }

  const send = async (path, method, body, headers = {}) => {
    const response = await fetch(api() + path, {
      method,
      headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    if (!response.ok) {
      let detail = response.statusText
      try {
        const answer = await response.json()
        detail = answer.problems?.join('; ') ?? answer.detail ?? detail
      } catch {}
      throw new Error(detail)
    }
    return response.status === 204 ? null : response.json()
  }

  const attempt = (work) => work.catch((problem) => o.toast(`Could not save the comment: ${problem.message}`))

  // Comments written offline: kept in this browser with their words' Yjs relative
  // positions (the offsets they were written at move as the text is edited), sent
  // in order once the note syncs again, by one tab at a time (a Web Lock).
  const pendingKey = (token = o.token()) => `collab-notes:pending-comments:${token}`
  const waiting = () => {
    try { return JSON.parse(localStorage.getItem(pendingKey()) ?? '[]') } catch { return [] }
  }
  const keepPending = (queue) => {
    if (queue.length) localStorage.setItem(pendingKey(), JSON.stringify(queue))
    else localStorage.removeItem(pendingKey())
  }
  const relative = (index, assoc) => toBase64(Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(o.ytext, index, assoc)))
  const absolute = (encoded) => Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(fromBase64(encoded)), o.doc)?.index ?? null
  const offline = (problem) => problem instanceof TypeError || !navigator.onLine

  const sendPending = async () => {
    for (let queue = waiting(); queue.length; queue = waiting()) {
      const [next] = queue
      let from = absolute(next.anchor[0]) ?? 0
      let to = absolute(next.anchor[1]) ?? from
      if (to <= from) [from, to] = [Math.max(0, Math.min(from, o.ytext.length - 1)), Math.min(from + 1, o.ytext.length)] // its words went meanwhile
      try {
        const thread = await send('', 'POST', { body: next.body, author: next.author, key: next.key, from, to })
        rememberOwn(thread.comments[0].id)
        took(thread)
      } catch (problem) {
        if (offline(problem)) return
        o.toast(`A comment written offline could not be saved: ${problem.message} ("${next.body}")`)
      }
      keepPending(waiting().filter((kept) => kept.id !== next.id))
    }
  }
  const sendPendingOnce = () => navigator.locks
    ? navigator.locks.request(pendingKey(), sendPending)
    : sendPending()

  const took = (thread) => {
    threads.set(thread.id, thread)
    render()
  }

  const choose = (id) => {
    chosen = id
    const thread = threads.get(id)
    render()
    if (!thread) return
    const { from, to, removed } = rangeOf(thread)
    if (!removed) o.editor.select(from, to)
  }

  const edits = new Map() // own comments being edited: their drafts, kept across redraws
  const commentItem = (comment) => {
    const item = element('li', 'comment')
    item.dataset.comment = String(comment.id)
    const head = element('div', 'comment-head')
    head.append(element('strong', 'comment-author', comment.author), ' ',
      element('time', 'comment-time', new Date(comment.created_at).toLocaleString()))
    if (comment.edited_at) head.append(' ', element('span', 'comment-edited', '(edited)'))
    item.append(head, element('p', 'comment-body', comment.body))
    if (o.canComment && ownComments().has(comment.id)) {
      ownControls(item, comment, { send, key: commentKey, took, attempt, drafts: edits })
    }
    return item
  }

  const card = (thread) => {
    const { removed } = rangeOf(thread)
    const item = element('li', `thread${thread.resolved ? ' resolved' : ''}${thread.id === chosen ? ' chosen' : ''}`)
    item.dataset.thread = String(thread.id)
    item.tabIndex = 0
    const removedNote = element('p', 'thread-removed', 'On removed text')
    removedNote.hidden = !removed
    item.append(removedNote, element('blockquote', 'thread-quote', thread.quote))
    const said = element('ul', 'thread-comments')
    for (const comment of thread.comments) said.append(commentItem({ ...comment, thread: thread.id }))
    item.append(said)
    item.addEventListener('click', () => choose(thread.id))
    item.addEventListener('keydown', (event) => { if (event.key === 'Enter' && event.target === item) choose(thread.id) })
    if (o.canComment) item.append(actions(thread))
    return item
  }

  const actions = (thread) => {
    const row = element('div', 'thread-actions')
    const reply = element('textarea', 'thread-reply')
    reply.placeholder = 'Reply…'
    reply.rows = 1
    reply.setAttribute('aria-label', 'Reply')
    reply.addEventListener('click', (event) => event.stopPropagation())
    const answer = element('button', '', 'Reply')
    answer.type = 'button'
    answer.dataset.reply = ''
    answer.addEventListener('click', (event) => {
      event.stopPropagation()
      if (!reply.value.trim()) return
      attempt(send(`/${thread.id}/replies`, 'POST', { body: reply.value, author: o.author(), key: commentKey() })
        .then((done) => { rememberOwn(done.comments.at(-1).id); took(done) }))
    })
    const flip = element('button', 'quiet', thread.resolved ? 'Reopen' : 'Resolve')
    flip.type = 'button'
    flip.dataset.flip = ''
    flip.addEventListener('click', (event) => {
      event.stopPropagation()
      attempt(send(`/${thread.id}/${thread.resolved ? 'reopen' : 'resolve'}`, 'POST').then(took))
    })
    row.append(reply, answer, flip)
    if (o.canEdit) {
      const remove = element('button', 'quiet danger', 'Delete')
      remove.type = 'button'
      remove.addEventListener('click', (event) => {
        event.stopPropagation()
        attempt(send(`/${thread.id}`, 'DELETE').then(() => { threads.delete(thread.id); render() }))
      })
      row.append(remove)
    }
    return row
  }

  const render = () => {
    const all = [...threads.values()]
    const open = all.filter((thread) => !thread.resolved)
    const resolved = all.filter((thread) => thread.resolved)
    const parts = [element('h3', 'threads-head', `Open (${open.length})`), ...open.map(card)]
    if (resolved.length) parts.push(element('h3', 'threads-head', `Resolved (${resolved.length})`), ...resolved.map(card))
    const drafts = new Map([...list.querySelectorAll('.thread')].map((item) => [item.dataset.thread, item.querySelector('.thread-reply')?.value]))
    const editing = document.activeElement?.closest?.('.comment-editing')?.closest('.comment')?.dataset.comment
    list.replaceChildren(...parts)
    if (editing) list.querySelector(`.comment[data-comment="${editing}"] .comment-edit`)?.focus() // typing on
    for (const item of list.querySelectorAll('.thread')) {
      const draft = drafts.get(item.dataset.thread)
      if (draft) item.querySelector('.thread-reply').value = draft // a reply being written stays
    }
    o.toggle.textContent = open.length ? `Comments (${open.length})` : 'Comments'
    redrawMarks()
  }

  const show = (visible = true) => {
    o.panel.hidden = !visible
    o.toggle.setAttribute('aria-expanded', String(visible))
  }
  o.toggle.addEventListener('click', () => show(o.panel.hidden))
  o.panel.querySelector('[data-close]').addEventListener('click', () => show(false))

  // Start a thread on the editor's selection.
  let selection = null
  const start = () => {
    const { from, to } = o.editor.view.state.selection.main
    if (from === to) {
      o.toast('Select the text to comment on first.')
      return
    }
    selection = { from, to }
    show(true)
    form.hidden = false
    form.querySelector('.new-quote').textContent = o.editor.view.state.sliceDoc(from, to)
    form.querySelector('textarea').focus()
  }
  if (o.opener) o.opener.addEventListener('click', start)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const text = form.querySelector('textarea')
    if (!selection || !text.value.trim()) return
    const said = { body: text.value, author: o.author(), key: commentKey() }
    const written = { ...selection }
    const done = () => {
      text.value = ''
      form.hidden = true
      selection = null
    }
    send('', 'POST', { ...said, ...written })
      .then((thread) => {
        rememberOwn(thread.comments[0].id)
        done()
        took(thread)
      })
      .catch((problem) => {
        if (!offline(problem)) return o.toast(`Could not save the comment: ${problem.message}`)
        const anchor = [relative(written.from, 0), relative(written.to, -1)]
        keepPending([...waiting(), { ...said, anchor, id: `${Date.now()}-${Math.random()}` }])
        done()
        o.toast('Offline: the comment is kept in this browser and sent when the note is back online.')
      })
  })
  form.querySelector('[data-cancel]').addEventListener('click', () => { form.hidden = true })

  const load = async () => {
    const response = await fetch(api(), { cache: 'no-store' })
    if (!response.ok) return
    threads.clear()
    for (const thread of (await response.json()).threads) threads.set(thread.id, thread)
    render()
    if (o.canComment && waiting().length) await sendPendingOnce()
  }

  return {
    load,
    start,
    /** This page's edit link was replaced: its comments written offline go with it. */
    rekey (old) {
      const kept = localStorage.getItem(pendingKey(old))
      if (kept === null) return
      localStorage.setItem(pendingKey(), kept)
      localStorage.removeItem(pendingKey(old))
    },
    /** A notice from the server: true if it was about comments. */
    heard (message) {
      if (message.kind === 'comment') took(message.thread)
      else if (message.kind === 'comment-deleted') {
        threads.delete(message.id)
        render()
      } else return false
      return true
    }
  }
}
