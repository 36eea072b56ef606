// Search boxes, searched as you type: the home page's (the notes and spaces this
// browser holds) and a space's (its notes, by its link).
//
// The home page's tokens go in the request's body (POST /api/search), never in a URL;
// at most MAX_TOKENS notes and MAX_SPACES spaces, the most recently opened first. A space's link is already in
// its page's URL, so its search is GET /api/spaces/{token}/search. Results come as
// plain text with match ranges, made into text nodes and <mark>s here: no HTML from
// a note reaches the page. A result opens its note at the first matched word
// (#match=, see note.js), or a deleted text's version (#version=, see versions.js).

import { listNotes } from './history.js'
import { problemOf } from './problems.js'
import { listSpaces } from './spaces.js'

export const MAX_TOKENS = 500 // web/routes/search.py MAX_TOKENS
const MAX_SPACES = 100 // web/routes/search.py MAX_SPACES
const DEBOUNCE_MS = 150

const $ = (selector) => document.querySelector(selector)

/** ``text`` as nodes, the ``ranges`` ([start, end) in UTF-16 units) in <mark>s. */
export function highlighted (text, ranges) {
  const nodes = []
  let at = 0
  for (const [start, end] of ranges) {
    if (start < at || end > text.length) continue
    if (start > at) nodes.push(document.createTextNode(text.slice(at, start)))
    const mark = document.createElement('mark')
    mark.textContent = text.slice(start, end)
    nodes.push(mark)
    at = end
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)))
  return nodes
}

/** Where a result opens: the version that has the deleted text, or the first matched word. */
function resultHash (result) {
  if (result.deleted) return result.version ? `#version=${encodeURIComponent(result.version)}` : ''
  const [range] = result.highlights.length ? result.highlights : []
  return range ? `#match=${encodeURIComponent(result.snippet.slice(range[0], range[1]))}` : ''
}

function resultItem (result) {
  const item = document.createElement('li')
  item.className = 'search-result' + (result.deleted ? ' deleted-text' : '')
  const link = document.createElement('a')
  link.href = `/n/${encodeURIComponent(result.id)}${resultHash(result)}`
  if (result.title) link.append(...highlighted(result.title, result.title_highlights))
  else link.textContent = 'Untitled note'
  const snippet = document.createElement('p')
  snippet.className = 'snippet'
  snippet.append(...highlighted(result.snippet, result.highlights))
  item.append(link, snippet)
  if (result.space) {
    const space = document.createElement('span')
    space.className = 'meta'
    space.textContent = `in ${result.space}`
    item.append(space)
  }
  if (result.deleted) {
    const meta = document.createElement('span')
    meta.className = 'meta'
    const when = result.removed_at ? new Date(result.removed_at).toLocaleString() : ''
    meta.textContent = ['deleted text', result.removed_by && `removed by ${result.removed_by}`, when]
      .filter(Boolean).join(' · ')
    item.append(meta)
  }
  return item
}

/**
 * The search box of a page (`#search`, `#search-deleted` if the page offers deleted
 * text, `#search-results`, `#search-state`); `ask(q, deleted)` makes the request.
 */
export class SearchBox {
  constructor (ask, { none = 'No note here matches.' } = {}) {
    this.ask = ask
    this.none = none
    this.input = $('#search')
    this.deleted = $('#search-deleted')
    this.list = $('#search-results')
    this.state = $('#search-state')
    this.timer = null
    this.asked = 0 // the number of the latest request: older answers are dropped
    this.input.addEventListener('input', () => this.soon())
    this.deleted?.addEventListener('change', () => this.soon())
  }

  soon () {
    clearTimeout(this.timer)
    this.list.setAttribute('aria-busy', 'true') // until the answer to what is typed now
    this.timer = setTimeout(() => this.run(), DEBOUNCE_MS)
  }

  settled (asked) {
    if (asked === this.asked) this.list.removeAttribute('aria-busy')
  }

  async run () {
    const q = this.input.value
    const asked = ++this.asked
    if (!q.trim()) {
      this.list.replaceChildren()
      this.state.textContent = ''
      return this.settled(asked)
    }
    try {
      const response = await this.ask(q, this.deleted?.checked ?? false)
      if (!response.ok) throw new Error(await problemOf(response))
      const { results } = await response.json()
      if (asked !== this.asked) return
      this.list.replaceChildren(...results.map(resultItem))
      this.state.textContent = results.length === 0 ? this.none : `${results.length} found`
    } catch (problem) {
      if (asked === this.asked) this.state.textContent = `Search failed: ${problem.message}`
    }
    this.settled(asked)
  }
}

/** The home page's: the notes and spaces this browser holds, their tokens in the body. */
export function homeSearch () {
  return new SearchBox((q, deleted) => {
    const tokens = listNotes().slice(0, MAX_TOKENS).map((entry) => entry.token)
    const spaces = listSpaces().slice(0, MAX_SPACES).map((entry) => entry.token)
    return fetch('/api/search', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ q, tokens, spaces, deleted })
    })
  })
}

/** A space's: its notes, searched with the space's current link (`token()`). */
export function spaceSearch (token) {
  return new SearchBox((q, deleted) => {
    const params = new URLSearchParams({ q })
    if (deleted) params.set('deleted', 'true')
    return fetch(`/api/spaces/${encodeURIComponent(token())}/search?${params}`, { cache: 'no-store' })
  }, { none: 'No note in this space matches.' })
}
