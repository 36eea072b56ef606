// A space's page: its notes, live. The list is the REST listing, polled every
// POLL_MS with If-None-Match (a 304 costs the server one query and no rendering),
// which works across every process of a deployment with nothing new to run.
// Above the list, a search box (search.js) searches the space's notes by its link;
// the Share dialog (share.js) hands out its links and replaces them.

import { problemOf } from './problems.js'
import { spaceSearch } from './search.js'
import { attachShareDialog } from './share.js'
import { SpaceImport } from './spaceimport.js'
import { forgetSpace, rememberSpace } from './spaces.js'

const POLL_MS = 1000
const HIDDEN_POLL_MS = 30_000
const PAGE = 50

const $ = (selector) => document.querySelector(selector)
const spaceUrl = (token) => `${location.origin}/s/${token}`

function noteItem (note, page) {
  const item = document.createElement('li')
  item.className = 'space-note'
  item.dataset.id = note.id
  const link = document.createElement('a')
  link.href = note.url
  link.className = 'space-note-title'
  link.textContent = note.title || 'Untitled note'
  const excerpt = document.createElement('p')
  excerpt.className = 'excerpt'
  excerpt.textContent = note.excerpt
  const meta = document.createElement('span')
  meta.className = 'meta'
  const when = new Date(note.updated_at).toLocaleString()
  meta.textContent = [note.template ? 'template' : '', `edited ${when}`, note.updated_by ? `by ${note.updated_by}` : '']
    .filter(Boolean).join(' · ')
  item.append(link, excerpt, meta)
  if (note.tags.length) {
    const tags = document.createElement('span')
    tags.className = 'note-tags'
    for (const tag of note.tags) tags.append(tagButton(tag, page))
    item.append(tags)
  }
  if (page.editor) {
    const actions = document.createElement('span')
    actions.className = 'entry-actions'
    const title = note.title || 'Untitled note'
    if (note.template) actions.append(button('New from this template', () => page.create({ template: note.id })))
    actions.append(
      labelled(button(note.template ? 'Not a template' : 'Make template', () => page.mark(note)), title),
      labelled(button('Duplicate', () => page.duplicate(note)), title)
    )
    item.append(actions)
  }
  return item
}

function tagButton (tag, page, count = null) {
  const element = button(count === null ? `#${tag}` : `#${tag} (${count})`, () => page.filter(tag))
  element.className = 'tag'
  element.setAttribute('aria-pressed', String(page.tag === tag))
  return element
}

function labelled (element, title) {
  element.setAttribute('aria-label', `${element.textContent}: “${title}”`)
  return element
}

function button (text, onClick, className = 'quiet') {
  const element = document.createElement('button')
  element.type = 'button'
  element.className = className
  element.textContent = text
  element.addEventListener('click', onClick)
  return element
}

class SpacePage {
  constructor (body) {
    this.token = body.dataset.token
    this.viewToken = body.dataset.viewToken
    this.editor = body.dataset.role === 'editor'
    this.name = body.dataset.name
    this.tag = null
    this.limit = PAGE
    this.etag = null
    this.timer = null
    this.asked = 0 // requests made: a response to an older one is dropped
    rememberSpace({ token: this.token, role: body.dataset.role, name: this.name })
    this.search = spaceSearch(() => this.token)
    attachShareDialog({
      dialog: $('#share-dialog'),
      opener: $('#share-open'),
      links: () => this.editor ? { edit: spaceUrl(this.token), view: spaceUrl(this.viewToken) } : { view: spaceUrl(this.token) },
      refresh: async () => {},
      rotate: (which) => this.rotate(which)
    })
    $('#new-space-note')?.addEventListener('click', () => this.create({}))
    this.setupImport()
    $('#delete-space')?.addEventListener('click', () => this.remove())
    $('#space-sort').addEventListener('change', () => this.refresh(true))
    $('#space-more').addEventListener('click', () => { this.limit = Math.min(200, this.limit + PAGE); this.refresh(true) })
    document.addEventListener('visibilitychange', () => { if (!document.hidden) this.refresh() })
    this.refresh(true)
  }

  setupImport () {
    const input = $('#space-import-files')
    if (input === null) return
    const importer = new SpaceImport(this.token, $('#space-import-report'), () => this.refresh(true))
    $('#space-import').addEventListener('click', () => input.click())
    input.addEventListener('change', () => {
      const files = [...input.files]
      input.value = ''
      if (files.length) importer.files(files)
    })
  }

  async mark (note) {
    const response = await fetch(`/api/notes/${note.id}/template`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ template: !note.template })
    })
    if (!response.ok) this.fail(`Could not change “${note.title}”: the server answered ${response.status}.`)
    this.refresh(true)
  }

  async duplicate (note) {
    const response = await fetch(`/api/notes/${note.id}/duplicate`, { method: 'POST' })
    if (!response.ok) this.fail(`Could not duplicate “${note.title}”: the server answered ${response.status}.`)
    this.refresh(true)
  }

  async remove () {
    const name = $('#space-name').textContent
    if (!window.confirm(`Delete the space “${name}” and every note in it? It can be restored for a few days.`)) return
    const response = await fetch(`/api/spaces/${this.token}`, { method: 'DELETE' })
    if (response.ok) location.reload()
    else this.fail(`Could not delete the space: the server answered ${response.status}.`)
  }

  /** Replace a link of the space; the old one is refused from now on. */
  async rotate (which) {
    const response = await fetch(`/api/spaces/${this.token}/rotate`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ which })
    })
    if (!response.ok) throw new Error(await problemOf(response))
    const space = await response.json()
    this.viewToken = space.view_id
    if (which !== 'edit') return
    forgetSpace(this.token)
    this.token = space.id
    history.replaceState(null, '', `/s/${space.id}`)
    rememberSpace({ token: space.id, role: 'editor', name: this.name })
    for (const link of document.querySelectorAll('[data-export]')) link.href = `/api/spaces/${space.id}/export.zip`
    this.refresh(true)
  }

  filter (tag) {
    this.tag = this.tag === tag ? null : tag
    this.refresh(true)
  }

  /** Ask for the list again; only the latest request renders and schedules the next. */
  async refresh (changed = false) {
    clearTimeout(this.timer)
    const asked = ++this.asked
    if (changed) this.etag = null
    const params = new URLSearchParams({ sort: $('#space-sort').value, limit: String(this.limit) })
    if (this.tag) params.set('tag', this.tag)
    try {
      const headers = this.etag ? { 'If-None-Match': this.etag } : {}
      const response = await fetch(`/api/spaces/${this.token}?${params}`, { headers, cache: 'no-store' })
      if (asked !== this.asked) return // a newer request is on its way
      if (response.status === 404) return this.fail('This space was deleted, or its link was replaced.')
      if (response.ok) {
        const listing = await response.json()
        if (asked !== this.asked) return
        this.etag = response.headers.get('ETag')
        this.render(listing)
      }
      if (response.ok || response.status === 304) $('#space-error').hidden = true
    } catch {
      // offline for a moment: the next poll tries again
    }
    if (asked !== this.asked) return
    clearTimeout(this.timer)
    // A hidden tab asks rarely, and at once when it is shown again.
    this.timer = setTimeout(() => this.refresh(), document.hidden ? HIDDEN_POLL_MS : POLL_MS)
  }

  render (listing) {
    this.name = listing.name
    if (this.editor) this.viewToken = listing.view_id // another editor may have replaced it
    $('#space-name').textContent = listing.name
    $('#space-notes').replaceChildren(...listing.notes.map((note) => noteItem(note, this)))
    $('#space-empty').hidden = listing.notes.length > 0
    $('#space-more').hidden = listing.next === null || this.limit >= 200
    const tags = listing.tags.map(({ tag, count }) => tagButton(tag, this, count))
    if (this.tag) tags.unshift(button('All notes', () => this.filter(this.tag)))
    $('#space-tags').replaceChildren(...tags)
  }

  fail (message) {
    const error = $('#space-error')
    error.textContent = message
    error.hidden = false
  }

  async create (body) {
    const response = await fetch(`/api/spaces/${this.token}/notes`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body)
    })
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}))
      this.fail(`Could not make the note: ${problem.detail ?? response.status}.`)
      return
    }
    window.location.assign((await response.json()).url)
  }
}

export function startSpace (body) {
  return new SpacePage(body)
}
