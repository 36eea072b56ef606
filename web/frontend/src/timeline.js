// The History view's timeline: a note's versions, newest first, a page at a time,
// each entry saying when, who edited in it, how much changed, and its name and kind.

import { problemOf } from './problems.js'
import { restoredLabel, versionsUrl } from './restores.js'

const PAGE = 50

export const ABSOLUTE = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
// For entries that share a minute: without seconds they would all read the same.
const TO_THE_SECOND = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
const RELATIVE = new Intl.RelativeTimeFormat('en', { numeric: 'auto' })
const UNITS = [['year', 31536000], ['month', 2592000], ['week', 604800], ['day', 86400],
  ['hour', 3600], ['minute', 60]]
const KINDS = { named: 'Named', 'before-restore': 'Before restore' }

/** "just now", "40 seconds ago", "5 minutes ago", "yesterday"… */
export function relativeTime (date, now = Date.now()) {
  const seconds = (date.getTime() - now) / 1000
  if (Math.abs(seconds) < 10) return 'just now'
  if (Math.abs(seconds) < 60) return RELATIVE.format(Math.round(seconds), 'second')
  const [unit, size] = UNITS.find(([, size]) => Math.abs(seconds) >= size * 0.75) ?? UNITS.at(-1)
  return RELATIVE.format(Math.round(seconds / size), unit)
}

async function getJSON (url) {
  const response = await fetch(url, { cache: 'no-store' })
  if (!response.ok) throw new Error(await problemOf(response))
  return response.json()
}

function element (tag, className, text) {
  const el = document.createElement(tag)
  if (className) el.className = className
  if (text !== undefined) el.textContent = text
  return el
}

/** "+12 −3", read out as "12 characters added, 3 removed". */
function changeCounts (version) {
  const counts = element('span', 'counts')
  const shown = element('span', '', '')
  shown.setAttribute('aria-hidden', 'true')
  shown.append(element('span', 'added', `+${version.added}`), ' ', element('span', 'removed', `−${version.removed}`))
  counts.append(shown, element('span', 'visually-hidden',
    `${version.added} characters added, ${version.removed} removed`))
  return counts
}

function kindBadge (version) {
  return KINDS[version.kind] ? element('span', `badge ${version.kind}`, KINDS[version.kind]) : null
}

/** One entry of the timeline: when, its kind and name, who edited in it, how much changed. */
function entryButton (version) {
  const created = new Date(version.created_at)
  const button = element('button', 'version-entry')
  button.type = 'button'
  button.dataset.id = version.id
  const top = element('span', 'entry-top')
  top.append(element('span', 'when', relativeTime(created)))
  const badge = kindBadge(version)
  if (badge) top.append(badge)
  if (version.kind === 'auto') top.append(changeCounts(version)) // the others mark a moment
  button.append(top)
  if (version.name) button.append(element('span', 'entry-name', `“${version.name}”`))
  const time = element('time', 'entry-time', ABSOLUTE.format(created))
  time.dateTime = version.created_at
  button.append(time)
  if (version.authors.length > 0) button.append(element('span', 'entry-who', version.authors.join(', ')))
  if (version.restore) button.append(element('span', 'entry-restore', restoreLine(version.restore)))
  return button
}

/** "Ana restored the version of 7 Dec 2026, 06:15 · undone by Ben" */
export function restoreLine (restore) {
  const line = `${restore.by} restored ${restoredLabel(restore)}`
  return restore.undone_by ? `${line} · undone by ${restore.undone_by}` : line
}

/** Entries that share a minute show their seconds too. */
function labelTimes (list, versions) {
  const minutes = new Map()
  for (const version of versions) {
    const label = ABSOLUTE.format(new Date(version.created_at))
    minutes.set(label, (minutes.get(label) ?? 0) + 1)
  }
  for (const time of list.querySelectorAll('time.entry-time')) {
    const created = new Date(time.dateTime)
    const label = ABSOLUTE.format(created)
    time.textContent = minutes.get(label) > 1 ? TO_THE_SECOND.format(created) : label
  }
}

/** The list of versions, newest first, a page at a time. */
export class Timeline {
  constructor (dialog, token) {
    this.token = token
    this.list = dialog.querySelector('.versions')
    this.state = dialog.querySelector('.timeline-state')
    this.more = dialog.querySelector('[data-more]')
    this.versions = []
    this.hasMore = false
    this.loading = null
    this.generation = 0
    this.contents = new Map() // id -> Promise<string>, for one opening of the view
    this.onSelect = () => {}
    this.more.addEventListener('click', () => this.loadMore().catch(() => {}))
    this.list.addEventListener('click', (event) => {
      const button = event.target.closest('.version-entry')
      if (button) this.onSelect(this.versions.findIndex((v) => v.id === button.dataset.id))
    })
    // Up and Down move between entries, so a long history is not fifty presses of Tab.
    this.list.addEventListener('keydown', (event) => {
      if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return
      const item = event.target.closest('li')
      const next = event.key === 'ArrowDown' ? item?.nextElementSibling : item?.previousElementSibling
      if (!next) return
      event.preventDefault()
      next.querySelector('button').focus()
    })
  }

  /** Start again from the newest version. */
  load () {
    this.generation++
    this.versions = []
    this.hasMore = false
    this.loading = null
    this.contents.clear()
    this.list.replaceChildren()
    return this.loadMore().catch(() => {})
  }

  /** The next page of older versions (one request at a time). */
  loadMore () {
    if (this.loading === null) {
      const loading = this.fetchPage().finally(() => {
        if (this.loading === loading) this.loading = null
      })
      this.loading = loading
    }
    return this.loading
  }

  async fetchPage () {
    const generation = this.generation
    const before = this.versions.at(-1)?.id
    const query = `?limit=${PAGE}` + (before ? `&before=${encodeURIComponent(before)}` : '')
    this.state.textContent = 'Loading versions…'
    this.more.hidden = true
    try {
      const { versions } = await getJSON(versionsUrl(this.token(), query))
      if (generation !== this.generation) return
      this.versions.push(...versions)
      this.hasMore = versions.length === PAGE
      for (const version of versions) {
        const item = element('li')
        item.append(entryButton(version))
        this.list.append(item)
      }
      labelTimes(this.list, this.versions)
      this.state.textContent = this.versions.length === 0 ? 'No versions yet.' : ''
    } catch (problem) {
      if (generation === this.generation) this.state.textContent = `Could not load the history: ${problem.message}`
      throw problem
    } finally {
      if (generation === this.generation) this.more.hidden = !this.hasMore
    }
  }

  /** The version's Markdown (fetched once per opening of the view). */
  content (version) {
    if (!this.contents.has(version.id)) {
      const loading = getJSON(versionsUrl(this.token(), `/${encodeURIComponent(version.id)}`))
        .then((found) => found.content)
      loading.catch(() => this.contents.delete(version.id))
      this.contents.set(version.id, loading)
    }
    return this.contents.get(version.id)
  }

  /** The version before the one at `index` (loading older ones if need be), or null for the first. */
  async previous (index) {
    while (index + 1 >= this.versions.length && this.hasMore) await this.loadMore()
    return this.versions[index + 1] ?? null
  }

  mark (index) {
    for (const button of this.list.querySelectorAll('.version-entry')) {
      if (button.dataset.id === this.versions[index]?.id) button.setAttribute('aria-current', 'true')
      else button.removeAttribute('aria-current')
    }
  }

  focusSelected () {
    (this.list.querySelector('[aria-current="true"]') ?? this.list.querySelector('button'))?.focus()
  }
}

/** "5 minutes ago · by Ana, Ben · 12 characters added, 3 removed" */
export function describe (version) {
  const parts = [relativeTime(new Date(version.created_at))]
  if (KINDS[version.kind]) parts.push(KINDS[version.kind])
  if (version.restore) parts.push(restoreLine(version.restore))
  if (version.authors.length > 0) parts.push(`edited by ${version.authors.join(', ')}`)
  if (version.kind === 'auto') parts.push(`${version.added} characters added, ${version.removed} removed`)
  return parts.join(' · ')
}
