// Who wrote what: the Authors toggle colours each run of the editor's text by the
// person who typed it, with a legend; hovering a run says who and on which day.
//
// Every Yjs item carries the id (client, clock) of the page that typed it. The
// server says which name sent each client's clocks, and when (GET .../authors: runs
// built from the note's log, so every process's edits, a restart and the history
// count). Items newer than that answer are this tab's own (its name now) or a
// present person's (their presence name, noted when first seen); anything else
// asks the server again. Text the log has no name for shows as "earlier".
//
// Cost: nothing while the toggle is off. While on, a keystroke maps the decorations
// through the change and tints what it typed; the runs are recomputed from the
// Y.Text's items (a walk of them) at most every RECOMPUTE_MS while others type, and
// once this tab's typing pauses.

import { StateEffect, StateField } from '@codemirror/state'
import { Decoration, EditorView } from '@codemirror/view'
import { COLORS } from './identity.js'
import { people } from './presence.js'
import { problemOf } from './problems.js'

const RECOMPUTE_MS = 250
const LOCAL_SETTLE_MS = 1500 // after this tab's last keystroke, its runs are drawn anew
const REFETCH_MS = 1000 // unknown items ask the server again, at most this often
const EARLIER = 'earlier'
const ANONYMOUS = 'Anonymous'
const GREY = '#8a8f98'
const DAY = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' })

const setAuthors = StateEffect.define()

/**
 * The decorations: replaced by each draw, mapped through every change in between, and
 * this tab's own typing tinted at once as its author's (`mine()`: the mark, or null).
 */
function authorsField (mine) {
  return StateField.define({
    create: () => Decoration.none,
    update (decorations, tr) {
      for (const effect of tr.effects) if (effect.is(setAuthors)) return effect.value
      if (!tr.docChanged) return decorations
      const mapped = decorations.map(tr.changes)
      const mark = tr.isUserEvent('input') ? mine() : null
      if (mark === null) return mapped
      const typed = []
      tr.changes.iterChanges((_fromA, _toA, fromB, toB) => { if (toB > fromB) typed.push(mark.range(fromB, toB)) })
      return typed.length === 0 ? mapped : mapped.update({ add: typed, sort: true })
    },
    provide: (field) => EditorView.decorations.from(field)
  })
}

/** A stable colour for a name that nobody present wears: its hash picks one of the palette. */
function hashed (name) {
  let hash = 0
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)) >>> 0
  return COLORS[hash % COLORS.length]
}

/**
 * Each name's colour: a present person's own presence colour, else the palette's
 * colour for the name, else the first one free, so that the legend's colours differ.
 */
export function authorColors (names, awareness) {
  const present = new Map(people(awareness).map((person) => [person.name, person.color]))
  const colors = new Map([[EARLIER, GREY], [ANONYMOUS, GREY]])
  const taken = new Set()
  for (const name of names) {
    const color = present.get(name)
    if (!colors.has(name) && color !== undefined && !taken.has(color)) {
      colors.set(name, color)
      taken.add(color)
    }
  }
  for (const name of names) {
    if (colors.has(name)) continue
    const preferred = hashed(name)
    const color = taken.has(preferred) ? (COLORS.find((c) => !taken.has(c)) ?? preferred) : preferred
    colors.set(name, color)
    taken.add(color)
  }
  return colors
}

/** Runs by client, sorted by start: `{start, end, name, at, restored}`. */
function byClient (runs) {
  const found = new Map()
  for (const run of runs) {
    const name = run.author === null ? EARLIER : run.author
    const entry = { start: run.start, end: run.end, name, at: Date.parse(run.first_at), restored: run.restored }
    if (!found.has(run.client)) found.set(run.client, [])
    found.get(run.client).push(entry)
  }
  for (const list of found.values()) list.sort((a, b) => a.start - b.start)
  return found
}

/** The run of `list` holding `clock`, or null (binary search). */
function runAt (list, clock) {
  let low = 0
  let high = (list?.length ?? 0) - 1
  while (low <= high) {
    const middle = (low + high) >> 1
    const run = list[middle]
    if (clock < run.start) high = middle - 1
    else if (clock >= run.end) low = middle + 1
    else return run
  }
  return null
}

function authorMark (label, name, color) {
  return Decoration.mark({
    class: 'cm-author',
    attributes: { style: `background-color: ${color}40`, title: label, 'data-author': name }
  })
}

function describeRun (run) {
  const day = Number.isFinite(run.at) ? DAY.format(new Date(run.at)) : ''
  if (run.name === EARLIER) return 'Written before authors were recorded'
  const restored = run.restored
    ? ` (restored ${run.restored.name ? `“${run.restored.name}”` : `the version of ${DAY.format(new Date(run.restored.created_at))}`})`
    : ''
  return `${run.name}${restored}${day ? `, ${day}` : ''}`
}

/**
 * The Authors toggle. `button` turns it on and off (aria-pressed); `legend` lists
 * the names shown. `myName()` is this tab's name now.
 */
export function attachAuthors ({ button, legend, view, ytext, awareness, token, myName }) {
  let on = false
  let server = new Map() // client -> runs from the server
  const live = new Map() // client -> runs first seen here, newer than the server's answer
  let timer = null
  let fetching = null
  let lastFetch = 0
  let fetchedPosition = -1
  let needFetch = false
  const unknownSeen = new Set() // `${client}:${clock}` of items nobody here could name
  let shown = ''

  let ready = false // the server answered (or failed to): drawing before would say "earlier"
  let colors = new Map()
  let myMark = null // {key, mark}: this tab's name and today, as its own typing is tinted
  const mine = () => {
    if (!on || !ready) return null
    const run = { name: myName(), at: Date.now(), restored: null }
    const label = describeRun(run)
    if (myMark?.label !== label) {
      if (!colors.has(run.name)) colors = authorColors([...colors.keys(), run.name], awareness)
      myMark = { label, mark: authorMark(label, run.name, colors.get(run.name)) }
    }
    return myMark.mark
  }
  view.dispatch({ effects: StateEffect.appendConfig.of(authorsField(mine)) })

  const fetchRuns = async () => {
    lastFetch = performance.now()
    const response = await fetch(`/api/notes/${token()}/authors`, { cache: 'no-store' })
    if (!response.ok) throw new Error(await problemOf(response))
    const answer = await response.json()
    const changed = answer.position !== fetchedPosition
    fetchedPosition = answer.position
    server = byClient(answer.runs)
    return changed
  }

  // Items nobody here can name ask the server once each: a fetch started after an item
  // arrived knows it (edits are committed before anyone receives them), or it is older
  // than the log's names.
  const maybeFetch = () => {
    if (!needFetch || !on || fetching !== null) return
    const wait = lastFetch + REFETCH_MS - performance.now()
    if (wait > 0) {
      setTimeout(maybeFetch, wait)
      return
    }
    needFetch = false
    fetching = fetchRuns().then((changed) => { if (changed) schedule(0) })
      .catch(() => {}).finally(() => {
        fetching = null
        maybeFetch()
      })
  }

  /** Who wrote clocks from `clock` on of `client`, and up to which clock. */
  const resolve = (client, clock, length) => {
    const run = runAt(server.get(client), clock) ?? runAt(live.get(client), clock)
    if (run !== null) return { run, upto: Math.min(clock + length, run.end) }
    const name = client === awareness.clientID ? myName() : awareness.getStates().get(client)?.user?.name
    if (typeof name !== 'string' || name === '') return { run: null, upto: clock + length }
    const fresh = { start: clock, end: clock + length, name, at: Date.now(), restored: null }
    const list = live.get(client) ?? []
    list.push(fresh)
    list.sort((a, b) => a.start - b.start)
    live.set(client, list)
    return { run: fresh, upto: clock + length }
  }

  /** Ranges of the text `[from, to, run]`, neighbours of one author and day joined. */
  const ranges = () => {
    const found = []
    let index = 0
    for (let item = ytext._start; item !== null; item = item.right) {
      if (item.deleted || !item.countable) continue
      const { client, clock } = item.id
      let offset = 0
      while (offset < item.length) {
        const { run, upto } = resolve(client, clock + offset, item.length - offset)
        const size = upto - clock - offset
        if (run === null && !unknownSeen.has(`${client}:${clock + offset}`)) {
          unknownSeen.add(`${client}:${clock + offset}`)
          needFetch = true
        }
        const label = run === null ? EARLIER : (run.label ??= describeRun(run))
        const last = found[found.length - 1]
        if (last && last.to === index && last.label === label) last.to += size
        else found.push({ from: index, to: index + size, label, name: run?.name ?? EARLIER })
        index += size
        offset += size
      }
    }
    maybeFetch()
    return found
  }

  const draw = () => {
    timer = null
    if (!on || !ready) return
    const found = ranges()
    const names = [...new Set(found.map((range) => range.name))]
    colors = authorColors(names, awareness)
    myMark = null
    const marks = new Map()
    const decorations = found.map(({ from, to, label, name }) => {
      if (!marks.has(label)) marks.set(label, authorMark(label, name, colors.get(name)))
      return marks.get(label).range(from, to)
    })
    view.dispatch({ effects: setAuthors.of(Decoration.set(decorations)) })
    showLegend(names, colors)
  }

  const showLegend = (names, colors) => {
    const signature = JSON.stringify(names.map((name) => [name, colors.get(name)]))
    if (signature === shown) return
    shown = signature
    const items = names.map((name) => {
      const item = document.createElement('li')
      const dot = document.createElement('span')
      dot.className = 'dot'
      dot.style.backgroundColor = colors.get(name)
      item.append(dot, name === EARLIER ? 'earlier (no name kept)' : name)
      item.dataset.author = name
      return item
    })
    legend.querySelector('ul').replaceChildren(...items)
  }

  const schedule = (delay = RECOMPUTE_MS) => {
    if (timer === null && on) timer = setTimeout(draw, delay)
  }

  // Others' edits are drawn within RECOMPUTE_MS; this tab's typing is tinted as it is
  // typed (the field above), and checked against the rest once typing pauses.
  let settle = null
  const observer = (_event, transaction) => {
    if (!transaction.local) return schedule()
    clearTimeout(settle)
    settle = setTimeout(() => schedule(0), LOCAL_SETTLE_MS)
  }
  // Colours follow who is here: drawn again when a name or colour changes, not when a
  // caret moves (presence changes with every keystroke).
  let present = ''
  const onPeople = (_changes, origin) => {
    if (origin === 'local') return
    const now = JSON.stringify(people(awareness).map((person) => [person.name, person.color]))
    if (now === present) return
    present = now
    schedule()
  }

  const turn = async (next) => {
    on = next
    button.setAttribute('aria-pressed', String(on))
    legend.hidden = !on
    if (!on) {
      clearTimeout(timer)
      clearTimeout(settle)
      timer = null
      ready = false
      ytext.unobserve(observer)
      awareness.off('change', onPeople)
      view.dispatch({ effects: setAuthors.of(Decoration.none) })
      return
    }
    ytext.observe(observer)
    awareness.on('change', onPeople)
    legend.querySelector('.authors-state').textContent = 'Finding who wrote what…'
    try {
      await fetchRuns()
      legend.querySelector('.authors-state').textContent = 'Written by'
    } catch (problem) {
      legend.querySelector('.authors-state').textContent = `Only this visit’s authors: ${problem.message}`
    }
    ready = true
    if (on) draw()
  }

  button.addEventListener('click', () => turn(!on))
  return { isOn: () => on }
}
