// Who is here: a live list from the awareness states, and "joined"/"left" notices.

const nameOf = (state) => {
  const name = state?.user?.name
  return typeof name === 'string' && name.trim() ? name.trim() : 'Someone'
}

const GREY = '#8a8f98'
const MAX_NAME_CHARS = 40
const isColor = (value, alpha = false) =>
  typeof value === 'string' && (alpha ? /^#[0-9a-f]{6}([0-9a-f]{2})?$/i : /^#[0-9a-f]{6}$/i).test(value)
const safeColor = (color) => (isColor(color) ? color : GREY)

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

function chip (state, isSelf) {
  const item = document.createElement('li')
  item.className = 'person'
  const viewer = state.role === 'viewer'
  if (viewer) item.classList.add('viewer')
  if (isSelf) item.classList.add('self')
  const dot = document.createElement('span')
  dot.className = 'dot'
  dot.style.backgroundColor = safeColor(state.user?.color)
  const label = document.createElement('span')
  label.className = 'name'
  label.textContent = nameOf(state)
  item.append(dot, label)
  const notes = [isSelf && 'you', viewer && 'viewing'].filter(Boolean)
  if (notes.length > 0) {
    const note = document.createElement('span')
    note.className = 'badge'
    note.textContent = notes.join(', ')
    item.append(note)
  }
  item.title = nameOf(state) + (viewer ? ' (can view, not edit)' : '')
  return item
}

/**
 * Render everyone present into `list`, and announce arrivals and departures.
 *
 * Announcements are held back while this tab is not in sync: the states that arrive
 * with a (re)connection are people already here, and a dropped connection empties the
 * list without anyone having left.
 */
export function attachPresence ({ awareness, provider, list, countLabel, toast }) {
  const names = new Map()
  const selfId = awareness.clientID

  const render = () => {
    const states = [...awareness.getStates()].filter(([, state]) => state && state.user)
    states.sort(([a, sa], [b, sb]) =>
      (b === selfId) - (a === selfId) || nameOf(sa).localeCompare(nameOf(sb)) || a - b)
    list.replaceChildren(...states.map(([id, state]) => chip(state, id === selfId)))
    const others = states.length - (awareness.getLocalState() ? 1 : 0)
    countLabel.textContent = others === 0 ? 'Only you' : `${others + 1} here`
  }

  awareness.on('change', ({ added, updated, removed }, origin) => {
    const announce = origin !== 'local' && provider.wsconnected && provider.synced
    for (const id of added) {
      const state = awareness.getStates().get(id)
      if (announce && id !== selfId && state?.user) toast(`${nameOf(state)} joined`)
    }
    for (const id of removed) {
      if (announce && id !== selfId && names.has(id)) toast(`${names.get(id)} left`)
      names.delete(id)
    }
    for (const id of [...added, ...updated]) {
      const state = awareness.getStates().get(id)
      if (state?.user) names.set(id, nameOf(state))
    }
    render()
  })
  render()
}
