// The home page's search: the notes this browser holds, searched as you type.
//
// The tokens go in the request's body (POST /api/search), never in a URL; at most
// MAX_TOKENS, the most recently opened first. Results come as plain text with match
// ranges, made into text nodes and <mark>s here: no HTML from a note reaches the page.

import { listNotes } from './history.js'
import { problemOf } from './problems.js'

export const MAX_TOKENS = 500 // web/routes/search.py MAX_TOKENS
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

function resultItem (result) {
  const item = document.createElement('li')
  item.className = 'search-result' + (result.deleted ? ' deleted-text' : '')
  const link = document.createElement('a')
  const version = result.deleted && result.version ? `#version=${encodeURIComponent(result.version)}` : ''
  link.href = `/n/${encodeURIComponent(result.id)}${version}`
  if (result.title) link.append(...highlighted(result.title, result.title_highlights))
  else link.textContent = 'Untitled note'
  const snippet = document.createElement('p')
  snippet.className = 'snippet'
  snippet.append(...highlighted(result.snippet, result.highlights))
  item.append(link, snippet)
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

export class HomeSearch {
  constructor () {
    this.input = $('#search')
    this.deleted = $('#search-deleted')
    this.list = $('#search-results')
    this.state = $('#search-state')
    this.timer = null
    this.asked = 0 // the number of the latest request: older answers are dropped
    this.input.addEventListener('input', () => this.soon())
    this.deleted.addEventListener('change', () => this.soon())
  }

  soon () {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.run(), DEBOUNCE_MS)
  }

  async run () {
    const q = this.input.value
    const asked = ++this.asked
    if (!q.trim()) {
      this.list.replaceChildren()
      this.state.textContent = ''
      return
    }
    const tokens = listNotes().slice(0, MAX_TOKENS).map((entry) => entry.token)
    try {
      const response = await fetch('/api/search', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ q, tokens, deleted: this.deleted.checked })
      })
      if (!response.ok) throw new Error(await problemOf(response))
      const { results } = await response.json()
      if (asked !== this.asked) return
      this.list.replaceChildren(...results.map(resultItem))
      this.state.textContent = results.length === 0 ? 'No note here matches.' : `${results.length} found`
    } catch (problem) {
      if (asked === this.asked) this.state.textContent = `Search failed: ${problem.message}`
    }
  }
}
