// The two always-visible indicators: the connection, and whether edits are on disk.

const CONNECTION_LABELS = {
  connecting: 'Connecting…',
  online: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
  closed: 'Disconnected'
}

const SAVE_HINTS = {
  saved: 'Every edit made in this tab is on the server’s disk.',
  saving: 'Sent; waiting for the server to confirm it is on disk.',
  waiting: 'Kept in this browser until the connection returns.',
  unsynced: 'Not in touch with the server yet.',
  viewing: 'This link can read the note but not change it.'
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`

function saveLabel (state, pending) {
  switch (state) {
    case 'saved': return 'Saved'
    case 'saving': return 'Saving…'
    case 'waiting': return `${plural(pending, 'edit')} waiting`
    case 'viewing': return 'View only'
    default: return 'Not synced yet'
  }
}

// Screen readers hear the connection at once, and the save state once it has
// settled: "Saving…" / "Saved" flips with every keystroke, which nobody wants read out.
const SETTLE_MS = 1500

const SPOKEN = {
  saved: 'All changes saved.',
  waiting: (pending) => `Offline: ${plural(pending, 'edit')} kept in this browser.`
}

/** A polite live region that says each message once, after `delayMs` without change. */
function createAnnouncer (region) {
  let timer = null
  let pending = null
  let said = ''
  return (message, delayMs = 0) => {
    if (message === pending) return // already on its way: repeating it must not delay it
    clearTimeout(timer)
    pending = message
    timer = setTimeout(() => {
      pending = null
      if (message === said) return
      said = message
      region.textContent = message
    }, delayMs)
  }
}

export function createStatus ({ connection, save, announcer }) {
  const announce = announcer ? createAnnouncer(announcer) : () => {}
  const announceSave = announcer ? createAnnouncer(announcer) : () => {}
  let lastConnection = null
  return {
    setConnection (state) {
      connection.dataset.state = state
      connection.querySelector('.label').textContent = CONNECTION_LABELS[state]
      connection.title = CONNECTION_LABELS[state]
      if (state !== lastConnection && lastConnection !== null) announce(`${CONNECTION_LABELS[state]}.`)
      lastConnection = state
    },
    setSave (state, pending = 0) {
      save.dataset.state = state
      save.dataset.pending = String(pending)
      save.textContent = saveLabel(state, pending)
      save.title = SAVE_HINTS[state] ?? ''
      const spoken = SPOKEN[state]
      if (spoken) announceSave(typeof spoken === 'function' ? spoken(pending) : spoken, SETTLE_MS)
    }
  }
}
