// Who is here: a live list from the awareness states, one chip per person (however
// many tabs they have open), "joined"/"left"/renamed notices, colours kept distinct,
// and who has gone quiet (away).

import { COLORS, withLight } from './identity.js'

const nameOf = (state) => {
  const name = state?.user?.name
  return typeof name === 'string' && name.trim() ? name.trim() : 'Someone'
}

const GREY = '#8a8f98'
const MAX_NAME_CHARS = 40
const PERSON_ID = /^[0-9a-f]{18}$/
const isColor = (value, alpha = false) =>
  typeof value === 'string' && (alpha ? /^#[0-9a-f]{6}([0-9a-f]{2})?$/i : /^#[0-9a-f]{6}$/i).test(value)
const safeColor = (color) => (isColor(color) ? color : GREY)

/** One key per person: their browser's id, or the tab's own id for clients without one. */
const personOf = (id, state) => (PERSON_ID.test(state?.user?.id ?? '') ? state.user.id : `client:${id}`)

/**
 * Make other people's `user` fields harmless before anything renders them.
 *
 * y-codemirror.next writes `user.color` into a style attribute, so a peer could
 * smuggle CSS in through it; only plain hex colours and short names pass. This
 * must be registered before the editor exists: listeners run in the order they
 * were added, and the editor's own listener renders the carets.
 */
export function guardRemoteStates (awareness) {
  awareness.on('change', ({ added, updated }) => {
    for (const id of [...added, ...updated]) {
      const user = awareness.getStates().get(id)?.user
      if (id === awareness.clientID || !user || typeof user !== 'object') continue
      user.color = safeColor(user.color)
      if (!isColor(user.colorLight, true)) user.colorLight = user.color + '33'
      user.name = typeof user.name === 'string' ? [...user.name].slice(0, MAX_NAME_CHARS).join('') : ''
    }
  })
}

/**
 * Make sure everyone is shown again as soon as a connection comes back.
 *
 * y-protocols ignores a state whose clock did not advance past the last one it
 * saw for that client, and y-websocket drops the others' states (but not their
 * clocks) when its socket closes; the server then re-sends the same clocks, and
 * people stayed hidden until their next 15 s renewal. So when the socket closes,
 * forget the clocks of everyone who was dropped, and advance our own clock, so
 * that peers who kept ours (stock clients, or a restarted server's) take it.
 */
export function keepPresenceAcrossReconnects (provider) {
  const awareness = provider.awareness
  provider.on('status', ({ status }) => {
    if (status !== 'disconnected') return
    for (const id of [...awareness.meta.keys()]) {
      if (id !== awareness.clientID && !awareness.states.has(id)) awareness.meta.delete(id)
    }
    // Not sent now (there is no socket); the reconnect announces it with this clock.
    const own = awareness.getLocalState()
    if (own !== null) awareness.setLocalState(own)
  })
}

// -- away: someone silent for a while ------------------------------------------------

// A lost network closes nothing: the server keeps a silent person for 30 s, until their
// state times out. So this page renews its state every BEAT_MS while someone else is
// here, and says so in its state (`beat`). The server relays renewals a few seconds
// late, several in one frame (collab/presence.py, awareness_renewal_delay_s, 5 s), and
// once more late on each process they cross: renewals reach the others every 5 to 8 s
// from one process, up to 13 s across two. So a person is away once silent for twice
// the usual gap between their renewals (the median of the last few), and never sooner
// than AWAY_MIN_MS nor later than AWAY_MAX_MS (the 30 s timeout comes after).
// Stock clients renew every 15 s and send no `beat`: never shown away.
const BEAT_MS = 3000
const AWAY_MIN_MS = BEAT_MS + 7000
const AWAY_MAX_MS = 25000
const GAPS_KEPT = 5
const heard = new WeakMap() // awareness -> Map(client id -> {last, gaps})

/** Renew this tab's presence every few seconds while others are here to see it. */
export function keepAlive (provider) {
  const awareness = provider.awareness
  awareness.setLocalStateField('beat', BEAT_MS)
  setInterval(() => {
    const own = awareness.getLocalState()
    if (own === null || !provider.wsconnected || awareness.getStates().size < 2) return
    awareness.setLocalState(own) // same state, newer clock: a renewal
  }, BEAT_MS)
  const times = new Map()
  heard.set(awareness, times)
  awareness.on('update', ({ added, updated }) => {
    const now = Date.now()
    for (const id of [...added, ...updated]) {
      const seen = times.get(id)
      if (seen === undefined) {
        times.set(id, { last: now, gaps: [] })
        continue
      }
      const gap = now - seen.last
      if (gap < AWAY_MAX_MS) seen.gaps = [...seen.gaps, gap].slice(-GAPS_KEPT) // not a loss
      seen.last = now
    }
  })
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0

/** Whether client `id` has been silent for well over its usual gap between renewals. */
export function isAway (awareness, id) {
  if (id === awareness.clientID) return false
  const beat = awareness.getStates().get(id)?.beat
  const seen = heard.get(awareness)?.get(id)
  if (typeof beat !== 'number' || !(beat > 0) || seen === undefined) return false
  const limit = Math.min(AWAY_MAX_MS, Math.max(AWAY_MIN_MS, 2 * median(seen.gaps)))
  return Date.now() - seen.last > limit
}

/**
 * Everyone present, one entry per person: `{key, name, color, viewer, self, tabs, first, away}`
 * (`away`: every tab of theirs is silent)
 * and `first`: the lowest client id among their tabs, which settles colour clashes.
 */
export function people (awareness) {
  const byPerson = new Map()
  for (const [id, state] of awareness.getStates()) {
    if (!state?.user) continue
    const key = personOf(id, state)
    const self = id === awareness.clientID
    const person = byPerson.get(key)
    if (person === undefined) {
      byPerson.set(key, {
        key, name: nameOf(state), color: safeColor(state.user.color),
        viewer: state.role === 'viewer', self, tabs: 1, first: id, away: isAway(awareness, id)
      })
    } else {
      person.tabs += 1
      person.away &&= isAway(awareness, id)
      person.self ||= self
      person.viewer &&= state.role === 'viewer'
      if (self || id < person.first) {
        person.first = Math.min(person.first, id)
        if (self) Object.assign(person, { name: nameOf(state), color: safeColor(state.user.color) })
      }
    }
  }
  return [...byPerson.values()].sort((a, b) =>
    b.self - a.self || a.name.localeCompare(b.name) || a.first - b.first)
}

/**
 * The colour this tab should show, given who else is here: its own, unless someone
 * who came first (a lower client id) already has it; then the first colour nobody
 * has. Every tab decides the same way, so ten people get ten colours.
 */
export function distinctColor (awareness, preferred, personKey) {
  const everyone = people(awareness)
  const me = everyone.find((p) => p.key === personKey)
  const first = me ? me.first : awareness.clientID
  const others = everyone.filter((p) => p.key !== personKey)
  const clash = others.some((p) => p.color === preferred && p.first < first)
  if (!clash) return preferred
  const taken = new Set(others.filter((p) => p.first < first).map((p) => p.color))
  return COLORS.find((color) => !taken.has(color)) ?? preferred
}

function chip (person) {
  const item = document.createElement('li')
  item.className = 'person'
  if (person.viewer) item.classList.add('viewer')
  if (person.self) item.classList.add('self')
  if (person.away) item.classList.add('away')
  // Someone else's chip is a button: choosing it follows them (follow.js).
  const holder = person.self ? item : document.createElement('button')
  if (!person.self) {
    Object.assign(holder, { type: 'button', className: 'follow', title: `Follow ${person.name}` })
    holder.dataset.person = person.key
    holder.setAttribute('aria-pressed', 'false')
    item.append(holder)
  }
  const dot = document.createElement('span')
  dot.className = 'dot'
  dot.style.backgroundColor = person.color
  const label = document.createElement('span')
  label.className = 'name'
  label.textContent = person.name
  holder.append(dot, label)
  const tabs = person.tabs > 1 ? `${person.tabs} tabs` : ''
  const notes = [person.self && 'you', person.viewer && 'viewing', person.away && 'away', tabs].filter(Boolean)
  if (notes.length > 0) {
    const note = document.createElement('span')
    note.className = 'badge'
    note.textContent = notes.join(', ')
    holder.append(note)
  }
  item.title = person.name + (person.viewer ? ' (can view, not edit)' : '') +
    (person.away ? ', not heard from for a few seconds' : '') + (tabs ? `, ${tabs}` : '')
  return item
}

// Phones show this many people, then "+N".
const SHOWN_ON_PHONES = 3

function moreChip (hidden, expanded, toggle) {
  const item = document.createElement('li')
  item.className = 'person more'
  const button = document.createElement('button')
  button.type = 'button'
  button.className = 'more-button'
  button.textContent = expanded ? 'Less' : `+${hidden.length}`
  button.setAttribute('aria-expanded', String(expanded))
  button.setAttribute('aria-label', expanded ? 'Show fewer people' : `${hidden.length} more: ${hidden.map((p) => p.name).join(', ')}`)
  button.addEventListener('click', toggle)
  item.append(button)
  return item
}

// A "left" waits this long: someone back within it (a blip) is neither left nor joined.
const FOLD_MS = 6000
// A rename is told once the name has stayed this long (a name is typed a letter at a time).
const RENAME_SETTLE_MS = 1500
// How often the list looks for someone going quiet or coming back.
const AWAY_CHECK_MS = 1000

/** The notices about people: joined, left (unless back soon), renamed (once settled). */
function createHerald (toast) {
  const leaving = new Map() // person key -> timer of their "left"
  const renaming = new Map() // person key -> {from, timer}
  return {
    joined (key, name) {
      const timer = leaving.get(key)
      if (timer === undefined) return toast(`${name} joined`)
      clearTimeout(timer) // back within FOLD_MS: nothing happened
      leaving.delete(key)
    },
    left (key, name) {
      clearTimeout(renaming.get(key)?.timer)
      renaming.delete(key)
      leaving.set(key, setTimeout(() => {
        leaving.delete(key)
        toast(`${name} left`)
      }, FOLD_MS))
    },
    renamed (key, from, to) {
      const pending = renaming.get(key)
      clearTimeout(pending?.timer)
      const first = pending?.from ?? from
      const timer = setTimeout(() => {
        renaming.delete(key)
        if (first !== to) toast(`${first} is now ${to}`)
      }, RENAME_SETTLE_MS)
      renaming.set(key, { from: first, timer })
    }
  }
}

/**
 * Render everyone present into `list`, and announce arrivals, departures and renames.
 *
 * Announcements are held back while this tab is not in sync: the states that arrive
 * with a (re)connection are people already here, and a dropped connection empties the
 * list without anyone having left. A person with several tabs arrives with the first
 * and leaves with the last; one who leaves and is back within FOLD_MS is not announced.
 */
export function attachPresence ({ awareness, provider, list, countLabel, toast, personKey, onPeople }) {
  let known = new Map() // person key -> name
  let expanded = false
  let shown = null // what the list shows; cursors move on every keystroke, people rarely
  const herald = createHerald(toast)

  const render = () => {
    const everyone = people(awareness)
    const signature = JSON.stringify([expanded, everyone])
    if (signature === shown) return everyone
    shown = signature
    const chips = everyone.map(chip)
    chips.forEach((item, index) => { if (index >= SHOWN_ON_PHONES && !expanded) item.classList.add('overflow') })
    if (everyone.length > SHOWN_ON_PHONES) {
      chips.push(moreChip(everyone.slice(SHOWN_ON_PHONES), expanded, () => {
        expanded = !expanded
        render()
        list.querySelector('.more-button')?.focus()
      }))
    }
    list.classList.toggle('expanded', expanded)
    list.replaceChildren(...chips)
    const others = everyone.filter((p) => !p.self).length
    countLabel.textContent = others === 0 ? 'Only you' : `${others + 1} here`
    return everyone
  }

  awareness.on('change', (_changes, origin) => {
    const announce = origin !== 'local' && provider.wsconnected && provider.synced
    const everyone = render()
    const now = new Map(everyone.map((p) => [p.key, p.name]))
    if (announce) {
      for (const [key, name] of now) {
        if (key === personKey) continue
        if (!known.has(key)) herald.joined(key, name)
        else if (known.get(key) !== name) herald.renamed(key, known.get(key), name)
      }
      for (const [key, name] of known) if (!now.has(key) && key !== personKey) herald.left(key, name)
      known = now
    } else {
      // Out of touch, nobody comes or goes: those shown again after a reconnect were here.
      for (const [key, name] of now) known.set(key, name)
    }
    onPeople?.()
  })
  setInterval(render, AWAY_CHECK_MS) // renewals change no state: going quiet shows only here
  render()
}
