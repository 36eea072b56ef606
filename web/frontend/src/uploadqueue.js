// The files an editor pasted, dropped or picked, kept in this browser (IndexedDB) until
// they are uploaded: a file added offline, or while a reload or a lost connection
// interrupts its upload, is still there when the connection returns, and the files go
// up in the order they were added. Without IndexedDB (a private mode that refuses it)
// they are kept in memory, for as long as the page lives.
//
// An entry: {id (the order), note (the edit token it was added under), name, blob,
// at (a Yjs relative position, encoded: where its Markdown goes), after (text to put
// after it)}.

const DATABASE = 'collab-notes-uploads'
const STORE = 'files'

let opening = null

function request (req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
}

function open () {
  if (opening === null) {
    opening = new Promise((resolve, reject) => {
      const req = window.indexedDB.open(DATABASE, 1)
      req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'id', autoIncrement: true })
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    }).catch(() => null) // no IndexedDB here: memory only
  }
  return opening
}

const memory = new Map() // id -> entry, when IndexedDB is not there
let memoryNext = 1

async function withStore (mode, use) {
  const db = await open()
  if (db === null) return null
  const tx = db.transaction(STORE, mode)
  const done = new Promise((resolve, reject) => {
    tx.oncomplete = resolve
    tx.onerror = () => reject(tx.error)
    tx.onabort = () => reject(tx.error)
  })
  const result = await use(tx.objectStore(STORE))
  await done
  return result
}

/** Keep `entry` (without an id); returns its id. */
export async function keep (entry) {
  try {
    const id = await withStore('readwrite', (store) => request(store.add(entry)))
    if (id !== null) return id
  } catch {
    // Full, or refused now: memory keeps it for this page.
  }
  const id = `m${memoryNext++}`
  memory.set(id, { ...entry, id })
  return id
}

/** The entries of the note `note`, oldest first. */
export async function entriesOf (note) {
  let stored = []
  try {
    stored = (await withStore('readonly', (store) => request(store.getAll()))) ?? []
  } catch {
    // Unreadable: what memory holds is what there is.
  }
  return [...stored, ...memory.values()].filter((entry) => entry.note === note)
}

/** Forget an entry (uploaded, or refused by the server). */
export async function drop (id) {
  if (memory.delete(id)) return
  await withStore('readwrite', (store) => request(store.delete(id))).catch(() => {})
}

/** The note's edit link was replaced: its waiting files now belong to the new token. */
export async function rekey (oldNote, newNote) {
  for (const entry of memory.values()) if (entry.note === oldNote) entry.note = newNote
  await withStore('readwrite', async (store) => {
    for (const entry of await request(store.getAll())) {
      if (entry.note === oldNote) store.put({ ...entry, note: newNote })
    }
  }).catch(() => {})
}
