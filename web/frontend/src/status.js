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

export function createStatus ({ connection, save }) {
  return {
    setConnection (state) {
      connection.dataset.state = state
      connection.querySelector('.label').textContent = CONNECTION_LABELS[state]
      connection.title = CONNECTION_LABELS[state]
    },
    setSave (state, pending = 0) {
      save.dataset.state = state
      save.dataset.pending = String(pending)
      save.textContent = saveLabel(state, pending)
      save.title = SAVE_HINTS[state] ?? ''
    }
  }
}
